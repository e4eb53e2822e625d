"""Days past due, line by line after DOMAIN.md section 4 (normative).

Rule numbers in comments are those of section 4: 1 as-of date, 2 allocation, 3 past due,
4 stage (5, the stage change, lives in ``account.py``). Pure: integers in minor units and
``datetime.date`` only; no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from aging_service.domain.policy import AgingPolicy

__all__ = [
    "Assessment",
    "Due",
    "DueStatus",
    "Payment",
    "Reage",
    "allocate",
    "assess",
]


@dataclass(frozen=True, slots=True)
class Due:
    """The minimum due of one statement (``minimum_due_minor``), payable by ``due_date``."""

    statement_id: str
    statement_date: date
    due_date: date
    amount_minor: int


@dataclass(frozen=True, slots=True)
class Payment:
    """A posted payment; a reversed one takes no part in allocation."""

    payment_id: str
    value_date: date
    amount_minor: int
    reversed: bool = False


@dataclass(frozen=True, slots=True)
class Reage:
    """A restructuring: settles what was owed on statements before ``effective_date``."""

    reage_id: str
    effective_date: date


@dataclass(frozen=True, slots=True)
class DueStatus:
    """A due after allocation: how much payments paid and how much reages settled."""

    due: Due
    paid_minor: int
    reaged_minor: int

    @property
    def unpaid_minor(self) -> int:
        """What is still owed on this due."""
        return self.due.amount_minor - self.paid_minor - self.reaged_minor


@dataclass(frozen=True, slots=True)
class Assessment:
    """The aging figures of one account as of ``as_of`` (``None``: no day closed yet).

    ``dues`` are in allocation order (``due_date``, ``statement_date``, ``statement_id``).
    ``next_change_on`` is the earliest later as-of date at which, without new events, the
    stage would differ; ``None`` if that never happens (or ``as_of`` is ``None``).
    """

    as_of: date | None
    stage: str
    dpd: int
    past_due_minor: int
    oldest_unpaid_due_date: date | None
    dues: tuple[DueStatus, ...]
    next_change_on: date | None

    @property
    def is_current(self) -> bool:
        """Rule 3: not delinquent (the account reports DPD 0 and no oldest unpaid date)."""
        return self.oldest_unpaid_due_date is None


_ONE_DAY = timedelta(days=1)


def days_after(day: date, days: timedelta) -> date | None:
    """``day + days``, or ``None`` past the last representable date (9999-12-31): a due on
    that date never becomes past due, since no as-of date comes after it."""
    try:
        return day + days
    except OverflowError:
        return None


def _allocation_order(due: Due) -> tuple[date, date, str]:
    # Rule 2: oldest due_date first; ties by statement_date, then statement_id.
    return (due.due_date, due.statement_date, due.statement_id)


def _walk_order(step: Payment | Reage) -> tuple[date, int, str]:
    # Rule 2: business-date order; on the same date reages first, then payments by payment_id.
    if isinstance(step, Reage):
        return (step.effective_date, 0, step.reage_id)
    return (step.value_date, 1, step.payment_id)


def allocate(
    dues: Iterable[Due], payments: Iterable[Payment], reages: Iterable[Reage]
) -> tuple[DueStatus, ...]:
    """Rule 2: place the payments that are not reversed and apply the reages, in date order.

    Independent of the as-of date. Returns one ``DueStatus`` per due, in allocation order.
    """
    ordered = sorted(dues, key=_allocation_order)
    paid = [0] * len(ordered)
    reaged = [0] * len(ordered)

    def unpaid(index: int) -> int:
        return ordered[index].amount_minor - paid[index] - reaged[index]

    steps: list[Payment | Reage] = [payment for payment in payments if not payment.reversed]
    steps.extend(reages)
    for step in sorted(steps, key=_walk_order):
        if isinstance(step, Reage):
            # Rule 2: a reage settles the unpaid part of every due with
            # statement_date < effective_date.
            for index, due in enumerate(ordered):
                if due.statement_date < step.effective_date:
                    reaged[index] += unpaid(index)
            continue
        # Rule 2: a payment pays the unpaid parts of the dues with statement_date <= value_date,
        # oldest due_date first (``ordered`` is already in that order).
        remaining = step.amount_minor
        for index, due in enumerate(ordered):
            if remaining == 0:
                break
            if due.statement_date <= step.value_date:
                placed = min(remaining, unpaid(index))
                paid[index] += placed
                remaining -= placed
        # Rule 2: what the payment could not place is not carried to later statements.
    return tuple(
        DueStatus(due=due, paid_minor=paid[index], reaged_minor=reaged[index])
        for index, due in enumerate(ordered)
    )


@dataclass(frozen=True, slots=True)
class _Figures:
    stage: str
    dpd: int
    past_due_minor: int
    oldest_unpaid_due_date: date | None


def _figures(unpaid: Sequence[DueStatus], as_of: date | None, policy: AgingPolicy) -> _Figures:
    """Rules 1, 3 and 4 over dues already allocated; ``unpaid`` may omit fully paid dues."""
    current = policy.current_stage
    if as_of is None:
        # Rule 1: before any day has closed no account is delinquent (and nothing is past due,
        # since no due date is before an as-of date that does not exist yet).
        return _Figures(current, 0, 0, None)
    # Rule 3: past_due = sum of the unpaid parts of the dues with due_date < A;
    # d* = the earliest of those due dates with an unpaid part > 0.
    past_due = 0
    oldest: date | None = None
    for status in unpaid:
        due_date = status.due.due_date
        if due_date < as_of:
            owed = status.unpaid_minor
            past_due += owed
            if owed > 0 and (oldest is None or due_date < oldest):
                oldest = due_date
    # Rule 3: past_due <= tolerance_minor means current (past_due_minor is still the real sum).
    if oldest is None or past_due <= policy.tolerance_minor:
        return _Figures(current, 0, past_due, None)
    # Rule 3: DPD = A - d*; DPD <= grace_days means current.
    dpd = (as_of - oldest).days
    if dpd <= policy.grace_days:
        return _Figures(current, 0, past_due, None)
    # Rule 4: the stage by DPD.
    return _Figures(policy.stage_for(dpd), dpd, past_due, oldest)


def _next_change_on(
    unpaid: Sequence[DueStatus], as_of: date | None, stage: str, policy: AgingPolicy
) -> date | None:
    """The earliest as-of date ``A' > as_of`` whose stage differs from ``stage``, or ``None``.

    ``unpaid`` holds exactly the dues with an unpaid part. Without new events those parts are
    fixed (allocation ignores the as-of date), so as a function of ``A'``:

    * ``past_due(A')`` only grows, stepping up at ``due_date + 1`` of each unpaid due;
    * once ``A'`` is past the earliest unpaid due date ``e``, ``d*`` is ``e`` for good, so
      ``DPD(A') = A' - e`` grows by one a day and crosses the grace at ``e + grace_days + 1``;
    * "delinquent" (past due above tolerance and DPD above grace) therefore never turns back
      to current, and the stage by DPD is monotone: the stage is non-decreasing in ``A'``.

    The stage is thus constant between the candidate dates below (every point where one of
    its inputs can change: ``due_date + 1`` of each unpaid due, and ``e`` plus each of the
    policy's ``change_offsets``); checking them in order finds the first change exactly. Cost:
    O(u * (u + b)) for u unpaid dues and b buckets, nothing when every due is paid.

    ``as_of`` ``None`` (no day closed yet) returns ``None``: nothing changes before a close.
    The service evaluates every account with an unpaid due at the first close instead.
    """
    if as_of is None or not unpaid:
        return None
    due_dates = {status.due.due_date for status in unpaid}
    earliest = min(due_dates)
    candidates = {later for due_date in due_dates if (later := days_after(due_date, _ONE_DAY))}
    candidates.update(later for offset in policy.change_offsets if (later := days_after(earliest, offset)))
    for candidate in sorted(candidates):
        if candidate > as_of and _figures(unpaid, candidate, policy).stage != stage:
            return candidate
    return None


def assess(
    dues: Iterable[Due],
    payments: Iterable[Payment],
    reages: Iterable[Reage],
    as_of: date | None,
    policy: AgingPolicy,
) -> Assessment:
    """Rules 1 to 4: allocate (rule 2), then past due, DPD and stage as of ``as_of``.

    ``as_of`` is the as-of date ``A`` (the last closed business date plus one day, rule 1),
    or ``None`` when no day has closed yet: then the account is current with nothing past due.
    """
    statuses = allocate(dues, payments, reages)
    unpaid = [status for status in statuses if status.unpaid_minor > 0]
    figures = _figures(unpaid, as_of, policy)
    return Assessment(
        as_of=as_of,
        stage=figures.stage,
        dpd=figures.dpd,
        past_due_minor=figures.past_due_minor,
        oldest_unpaid_due_date=figures.oldest_unpaid_due_date,
        dues=statuses,
        next_change_on=_next_change_on(unpaid, as_of, figures.stage, policy),
    )

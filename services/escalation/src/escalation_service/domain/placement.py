"""Agency placement and recall (DOMAIN.md sections 6 and 7; seed 002). Pure, no I/O.

A placement is per debtor: one agency works all of a debtor's delinquent accounts. Candidates come
from escalation's copy of the agency registry. An agency that is inactive, outside its contract,
past its annual review date or at capacity gets no new case; the others are ranked by the
configured criteria (default: region match, then past recovery rate, then spare capacity; ties
by agency id) and the decision keeps every candidate's figures and why each one lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from fractions import Fraction
from typing import Literal

from escalation_service.domain.errors import InvalidTransition
from escalation_service.domain.rules import PlacementSettings, RankCriterion

__all__ = [
    "STOP_FLAGS",
    "Agency",
    "Allocation",
    "Candidate",
    "PaymentRecord",
    "PlacementRecord",
    "Recall",
    "RecallReason",
    "active_counts",
    "allocate",
    "expired",
    "recall",
    "recovery_rate",
]

RecallReason = Literal["cure", "expiry", "complaint", "stop_flag", "restructuring_agreed"]
#: Flags that stop every contact (section 5), and so recall a placement.
STOP_FLAGS = frozenset({"do_not_contact", "dispute", "bankruptcy", "deceased", "legal_representation"})


@dataclass(frozen=True, slots=True)
class Agency:
    """An agency as the registry describes it (``collections.agency.registered`` / ``updated``).

    ``contract_end`` is the last day of the contract (``None``: open-ended); ``review_due`` is
    the date of the next annual review, after which the agency gets no new case until reviewed.
    """

    agency_id: str
    regions: frozenset[str]
    capacity: int
    active: bool
    contract_start: date
    contract_end: date | None
    review_due: date


@dataclass(frozen=True, slots=True)
class PlacementRecord:
    """A placement made earlier: active from ``placed_on`` until ``recalled_on`` or ``ends_on``
    (both exclusive)."""

    placement_id: str
    agency_id: str
    customer_id: str
    placed_on: date
    ends_on: date
    past_due_at_placement_minor: int
    recalled_on: date | None = None

    @property
    def end(self) -> date:
        """The first day the case is no longer placed."""
        return self.recalled_on if self.recalled_on is not None else self.ends_on

    def active_on(self, day: date) -> bool:
        """Whether the agency works the case on ``day``."""
        return self.placed_on <= day < self.end


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    """A payment of a debtor (not reversed) on ``value_date``."""

    customer_id: str
    value_date: date
    amount_minor: int


def recovery_rate(
    agency_id: str,
    placements: Iterable[PlacementRecord],
    payments: Iterable[PaymentRecord],
    *,
    as_of: date,
    window_days: int,
) -> Fraction | None:
    """What debtors paid during the agency's placements over the past due at placement.

    Counts the placements that started in the ``window_days`` up to ``as_of`` (included) and the
    payments made while each was active, up to ``as_of``; a placement's payments count up to its
    past due at placement (paying more is not recovery). ``None`` when no such placement owed
    anything.
    """
    window_start = as_of - timedelta(days=window_days)
    by_customer: dict[str, list[PaymentRecord]] = {}
    for payment in payments:
        by_customer.setdefault(payment.customer_id, []).append(payment)
    owed = paid = 0
    for placement in placements:
        if placement.agency_id != agency_id or not window_start < placement.placed_on <= as_of:
            continue
        during = sum(
            payment.amount_minor
            for payment in by_customer.get(placement.customer_id, ())
            if placement.active_on(payment.value_date) and payment.value_date <= as_of
        )
        owed += placement.past_due_at_placement_minor
        paid += min(during, placement.past_due_at_placement_minor)
    return Fraction(paid, owed) if owed else None


def active_counts(placements: Iterable[PlacementRecord], day: date) -> dict[str, int]:
    """How many placements each agency has active on ``day``."""
    counts: dict[str, int] = {}
    for placement in placements:
        if placement.active_on(day):
            counts[placement.agency_id] = counts.get(placement.agency_id, 0) + 1
    return counts


@dataclass(frozen=True, slots=True)
class Candidate:
    """One agency as the allocation saw it; ``refused`` says why it could not take the case.

    ``rate_used`` is the recovery rate it was ranked with: its own, or, with no history, the mean
    of the eligible candidates that have one (0 if none has).
    """

    agency_id: str
    refused: str | None
    region_match: bool
    spare: int
    recovery_rate: Fraction | None
    rate_used: Fraction
    lost_because: str | None = None


@dataclass(frozen=True, slots=True)
class Allocation:
    """The decision: the chosen agency (``None``: no agency can take the case), the placement's
    dates, and every candidate with its figures."""

    customer_id: str
    account_ids: tuple[str, ...]
    agency_id: str | None
    placed_on: date
    ends_on: date
    past_due_at_placement_minor: int
    candidates: tuple[Candidate, ...]


def _refusal(agency: Agency, spare: int, today: date) -> str | None:
    if not agency.active:
        return "inactive"
    if today < agency.contract_start:
        return f"contract starts on {agency.contract_start.isoformat()}"
    if agency.contract_end is not None and today > agency.contract_end:
        return f"contract ended on {agency.contract_end.isoformat()}"
    if today > agency.review_due:
        return f"annual review was due on {agency.review_due.isoformat()}"
    if spare <= 0:
        return f"at capacity ({agency.capacity})"
    return None


def _rate_or(rate: Fraction | None, fallback: Fraction) -> Fraction:
    return fallback if rate is None else rate


def _measure(candidate: Candidate, criterion: RankCriterion) -> Fraction | int:
    if criterion == "region":
        return int(candidate.region_match)
    if criterion == "recovery_rate":
        return candidate.rate_used
    return candidate.spare


def _show(value: Fraction | int, criterion: RankCriterion) -> str:
    if criterion == "region":
        return "serves the region" if value else "does not serve the region"
    if criterion == "recovery_rate":
        hundredths = int(value * 10_000)  # of a percent, rounded down
        return f"{hundredths // 100}.{hundredths % 100:02d}%"
    return f"{value} free"


def allocate(
    *,
    customer_id: str,
    account_ids: Sequence[str],
    region: str | None,
    past_due_minor: int,
    agencies: Iterable[Agency],
    active: Mapping[str, int],
    rates: Mapping[str, Fraction | None],
    today: date,
    settings: PlacementSettings,
) -> Allocation:
    """Chooses the agency for a debtor's case; see the module docstring.

    ``active``: placements active per agency now; ``rates``: each agency's ``recovery_rate``.
    """
    seen: list[tuple[Agency, int, str | None]] = []
    for agency in sorted(agencies, key=lambda a: a.agency_id):
        spare = agency.capacity - active.get(agency.agency_id, 0)
        seen.append((agency, spare, _refusal(agency, spare, today)))
    known = [
        rate
        for agency, _, refused in seen
        if refused is None and (rate := rates.get(agency.agency_id)) is not None
    ]
    mean = sum(known, Fraction(0)) / len(known) if known else Fraction(0)
    candidates = [
        Candidate(
            agency_id=agency.agency_id,
            refused=refused,
            region_match=region is not None and region in agency.regions,
            spare=spare,
            recovery_rate=rates.get(agency.agency_id),
            rate_used=_rate_or(rates.get(agency.agency_id), mean),
        )
        for agency, spare, refused in seen
    ]
    eligible = [c for c in candidates if c.refused is None]
    winner = None
    if eligible:
        winner = min(
            eligible,
            key=lambda c: (tuple(-_measure(c, criterion) for criterion in settings.rank_by), c.agency_id),
        )
    explained = tuple(_explain(c, winner, settings.rank_by) for c in candidates)
    return Allocation(
        customer_id=customer_id,
        account_ids=tuple(account_ids),
        agency_id=winner.agency_id if winner else None,
        placed_on=today,
        ends_on=today + timedelta(days=settings.period_days),
        past_due_at_placement_minor=past_due_minor,
        candidates=explained,
    )


def _explain(candidate: Candidate, winner: Candidate | None, rank_by: Sequence[RankCriterion]) -> Candidate:
    if candidate.refused is not None or winner is None or candidate is winner:
        return candidate
    for criterion in rank_by:
        mine, theirs = _measure(candidate, criterion), _measure(winner, criterion)
        if mine != theirs:
            reason = f"{criterion}: {_show(mine, criterion)} against {_show(theirs, criterion)}"
            return replace(candidate, lost_because=reason)
    return replace(candidate, lost_because="equal on every criterion; agency id order")


@dataclass(frozen=True, slots=True)
class Recall:
    """A placement ended before or at its end date, with the reason."""

    placement_id: str
    agency_id: str
    customer_id: str
    reason: RecallReason
    on: date


def recall(placement: PlacementRecord, reason: RecallReason, on: date) -> Recall:
    """Recalls an active placement on ``on``."""
    if placement.recalled_on is not None:
        raise InvalidTransition(
            f"placement {placement.placement_id} was already recalled on {placement.recalled_on.isoformat()}"
        )
    if on < placement.placed_on:
        raise InvalidTransition(
            f"placement {placement.placement_id} cannot be recalled on {on.isoformat()}, "
            f"before it was placed ({placement.placed_on.isoformat()})"
        )
    return Recall(placement.placement_id, placement.agency_id, placement.customer_id, reason, on)


def expired(placements: Iterable[PlacementRecord], today: date) -> list[Recall]:
    """The recalls for expiry due by ``today``: placements not recalled whose end date has come."""
    return [
        Recall(p.placement_id, p.agency_id, p.customer_id, "expiry", p.ends_on)
        for p in placements
        if p.recalled_on is None and p.ends_on <= today
    ]

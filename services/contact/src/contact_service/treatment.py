"""Use cases shared by the consumers and the API: lay out a stage's plan, move it to the debtor's
timezone, cancel pending work."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from contact_service.adapters.cases import CaseRecord
from contact_service.adapters.work import CallTaskRow, PlannedRow, WorkRepository
from contact_service.domain.case import Cancellation, CancelReason, Case
from contact_service.domain.localtime import local_day, start_of_day
from contact_service.domain.plans import PlannedContact, TreatmentPlan, first_contacts, next_contact, rezoned
from contact_service.domain.priority import PriorityInputs, score
from contact_service.metrics import CANCELLATIONS, count_on_commit

__all__ = [
    "STAGE_CHANGED",
    "cancel",
    "cancel_many",
    "case_score",
    "count_cancelled",
    "recorded_reasons",
    "rezone_many",
    "schedule_next",
    "schedule_stage",
]

STAGE_CHANGED = "stage_changed"
"""Why the pending work of a stage is cancelled when the case moves to another delinquent stage."""


def case_score(case: Case, unreachable: bool = False) -> int:
    """The call-task score of the case (``domain.priority``), on its largest past-due amount."""
    signals = set(case.profile.signals) | ({"unreachable"} if unreachable else set())
    return score(
        PriorityInputs(
            customer_id=case.customer_id,
            past_due_minor=max(case.past_due_minor.values(), default=0),
            dpd=case.max_dpd,
            rating=case.profile.risk_rating,
            signals=frozenset(signals),
        )
    )


def _reason(cancellation: Cancellation | str) -> tuple[str, str]:
    """The reason (the metric's label) and the reason recorded on the cancelled rows."""
    if isinstance(cancellation, Cancellation):
        reason = cancellation.reason.value
        recorded = reason
        if cancellation.reason is CancelReason.STOP_FLAG and cancellation.detail:
            recorded = f"{reason}:{cancellation.detail}"[:64]
        return reason, recorded
    return cancellation, cancellation


async def cancel(session: AsyncSession, customer_id: str, cancellation: Cancellation | str) -> int:
    """Cancel every pending contact and call task of the debtor, with the reason recorded."""
    return await cancel_many(session, {customer_id: cancellation})


async def cancel_many(session: AsyncSession, cancellations: Mapping[str, Cancellation | str]) -> int:
    """``cancel`` for many debtors (debtor: why) in one statement; returns how many in all."""
    counts = await WorkRepository(session).cancel_pending_many(recorded_reasons(cancellations))
    return count_cancelled(session, cancellations, counts)


def recorded_reasons(cancellations: Mapping[str, Cancellation | str]) -> dict[str, str]:
    """The reason recorded on each debtor's cancelled work (debtor: why, to debtor: reason)."""
    return {customer: _reason(why)[1] for customer, why in cancellations.items()}


def count_cancelled(
    session: AsyncSession, cancellations: Mapping[str, Cancellation | str], counts: Mapping[str, int]
) -> int:
    """Count the contacts and call tasks cancelled (``counts``: debtor: how many) by reason once
    the session's transaction commits; returns how many in all."""
    per_label: dict[str, int] = {}
    for customer, count in counts.items():
        label = _reason(cancellations[customer])[0]
        per_label[label] = per_label.get(label, 0) + count
    for label, count in per_label.items():
        if count:
            count_on_commit(session, CANCELLATIONS.labels(label), count)
    return sum(counts.values())


async def schedule_stage(
    session: AsyncSession,
    plan: TreatmentPlan,
    case: Case,
    account_id: str,
    at: datetime,
    horizon: timedelta,
    *,
    unreachable: bool = False,
) -> None:
    """Lay out the plan of the case's stage from the local day it entered it (``at``): the first
    contact of each step (``domain.plans.first_contacts``; a step whose contact is already done
    with, the debtor back in the stage the same day, goes on from its next one)."""
    window = _window(case, at, horizon)
    call_score = case_score(case, unreachable)
    await _lay_out(
        session, plan, case, account_id, window, first_contacts(plan, case.stage, *window), call_score
    )


async def schedule_next(
    session: AsyncSession,
    plan: TreatmentPlan,
    record: CaseRecord,
    done_with: PlannedRow | CallTaskRow,
    horizon: timedelta,
) -> None:
    """Lay out the next contact of the step whose stored one (``done_with``) was just sent,
    blocked or called, when the case is still in that stage (``domain.plans.next_contact``).
    Called with the debtor's lock held, so that a cancellation of the debtor's pending work
    either comes first (the case has left the stage, or the contact was cancelled and is not
    done with) or sees the next contact pending. The next is the step's first contact due after
    this one in the debtor's timezone now: if that timezone changed since this one was laid
    out, the next can fall on this one's local day again or leave one of the step's days out
    (the compliance policy still decides it when it is due)."""
    if record.stage != done_with.stage or record.stage_entered_at is None:
        return
    window = _window(record.case, record.stage_entered_at, horizon)
    following = next_contact(plan, done_with.stage, *window, step=done_with.step, after=done_with.due_at)
    if following is not None:
        call_score = case_score(record.case, record.unreachable)
        await _lay_out(session, plan, record.case, done_with.account_id, window, [following], call_score)


async def _lay_out(
    session: AsyncSession,
    plan: TreatmentPlan,
    case: Case,
    account_id: str,
    window: tuple[datetime, str, datetime],
    contacts: list[PlannedContact],
    call_score: int,
) -> None:
    """Store ``contacts`` of the case's stage; a step whose contact is already done with goes on
    from its next one, until one is stored or the step has no more."""
    work = WorkRepository(session)
    while contacts:
        done_with = await work.schedule(case.customer_id, account_id, contacts, score=call_score)
        contacts = [
            following
            for contact in done_with
            if (following := next_contact(plan, case.stage, *window, step=contact.step, after=contact.due_at))
        ]


def _window(case: Case, entered_at: datetime, horizon: timedelta) -> tuple[datetime, str, datetime]:
    """The local start of the day the case entered its stage, its timezone and the end of the
    horizon: what ``domain.plans`` lays a stage's contacts out over."""
    tz = case.compliance_facts().zone
    entered = start_of_day(local_day(entered_at, tz), tz)
    return entered, case.profile.timezone, entered + horizon


async def rezone_many(session: AsyncSession, zones: Mapping[str, tuple[str, str]]) -> int:
    """Each debtor's timezone became another (debtor: (old, new)): pending work laid out in the
    old one keeps its local days and hours in the new one (``domain.plans.rezoned``). Returns how
    many contacts and tasks moved."""
    return await WorkRepository(session).rezone_pending_many(
        {customer: partial(rezoned, old=old, new=new) for customer, (old, new) in zones.items() if old != new}
    )

"""The stage changes of a consumer batch, applied set-wise: the same use case as one at a time.

Per event the contact service links the account, locks and loads the debtor's case, folds the
stage change in (``domain.case.apply``), cancels the debtor's pending work on a cure or a move
between delinquent stages, lays out the plan of a delinquent stage entered, saves the case,
rescores the call tasks and records a cure. Here a run of stage changes does each of those for
all its debtors at once: one lookup of the accounts' debtors, one lock statement, the cases
loaded in one statement, the folds in memory (in event order, per debtor), then the writes in
rounds. A debtor or account with several changes in the run has one in each round, in order, so
every debtor's writes happen in the order of its events, as one at a time. Input that can never
be applied is rejected before anything is written for it.

A change that names no debtor, of an account not linked to one yet, comes before the account's
opening was applied (aging or this service's other consumer has not applied it yet): it waits
(``adapters.waiting``) until the opening is applied, which applies it through this same use case
(``account_events.apply_account_events``). The accounts' locks (``lock_accounts``) order
keeping such a change with the opening's link: one commits first, the other sees it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from collections_common.events import StageChanged
from collections_common.runtime import Incoming
from contact_service.adapters.cases import CaseRecord, CaseRepository
from contact_service.adapters.stage_writes import Cure, write_stage_changes
from contact_service.adapters.waiting import WaitingStageChanges
from contact_service.adapters.work import WorkRepository
from contact_service.domain import case as cases_domain
from contact_service.domain.case import DEFAULT_STAGES, AccountStage, Cancellation, Case
from contact_service.domain.kpis import is_cure
from contact_service.domain.plans import TreatmentPlan
from contact_service.rounds import in_rounds
from contact_service.treatment import (
    STAGE_CHANGED,
    case_score,
    count_cancelled,
    recorded_reasons,
    schedule_stage,
)

__all__ = ["UNKNOWN_STAGE", "apply_stage_changes"]

UNKNOWN_STAGE = "a stage change to a stage the contact service does not know"


@dataclass(frozen=True, slots=True)
class _Effect:
    """What one accepted stage change writes."""

    customer_id: str
    account_id: str
    currency: str
    case: Case
    account: AccountStage | None
    cancellation: Cancellation | str | None
    entered: datetime | None
    unreachable: bool
    cure: Cure | None


async def apply_stage_changes(
    session: AsyncSession,
    events: Sequence[Incoming],
    plan: TreatmentPlan,
    horizon: timedelta,
) -> dict[int, str]:
    """Apply these ``collections.stage.changed`` events in order, keeping those whose debtor is
    not known yet until their account's opening; the reasons of those rejected, by their index
    in ``events`` (nothing is written for them)."""
    changes = [_data(incoming) for incoming in events]
    cases = CaseRepository(session)
    nameless = {data.account_id for data in changes if not data.customer_id}
    linked = await cases.customers_of(nameless)
    unplaced = nameless - linked.keys()
    if unplaced:  # an opening holding the lock has committed (read again) or reads them after us
        await cases.lock_accounts(unplaced)
        linked |= await cases.customers_of(unplaced)
    rejected: dict[int, str] = {}
    customers: dict[int, str] = {}
    waiting: list[Incoming] = []
    for index, data in enumerate(changes):
        customer = data.customer_id or linked.get(data.account_id)
        if customer is None:
            if data.to_stage in DEFAULT_STAGES:  # a stage a case knows (``Case.stages``)
                waiting.append(events[index])
            else:
                rejected[index] = UNKNOWN_STAGE
            continue
        customers[index] = customer
        linked.setdefault(data.account_id, customer)  # a later change of the account finds it
    await cases.lock_many(set(customers.values()))
    records: dict[str, CaseRecord] = await cases.load_many(set(customers.values()))
    # Accounts linked to their debtor's case with their currency: linking again changes nothing.
    linked_before = {customer: record.linked for customer, record in records.items()}
    effects: list[_Effect] = []
    for index, customer in customers.items():
        effect = _fold(records, customer, changes[index], events[index])
        if effect is None:
            rejected[index] = UNKNOWN_STAGE
        else:
            effects.append(effect)
    await cases.link_accounts(
        [
            (e.account_id, e.customer_id, e.currency)
            for e in effects
            if e.account_id not in linked_before[e.customer_id]
        ]
    )
    for round_ in in_rounds(effects, _keys):
        await _write(session, round_, plan, horizon)
    await WaitingStageChanges(session).keep(waiting)
    return rejected


def _keys(effect: _Effect) -> tuple[tuple[str, str], ...]:
    """Each debtor and each account at most once per round (``rounds.in_rounds``)."""
    return (("customer", effect.customer_id), ("account", effect.account_id))


def _data(incoming: Incoming) -> StageChanged:
    data = incoming.event.data
    assert isinstance(data, StageChanged)
    return data


def _fold(
    records: dict[str, CaseRecord], customer: str, data: StageChanged, incoming: Incoming
) -> _Effect | None:
    """Fold one change into the debtor's case in ``records``; None when it can never apply."""
    record = records[customer]
    fact = cases_domain.StageChanged(
        account_id=data.account_id,
        customer_id=customer,
        to_stage=data.to_stage,
        dpd=data.dpd,
        past_due_minor=data.past_due_minor,
        currency=data.currency,
        as_of=data.as_of,
    )
    try:
        update = cases_domain.apply(record.case, fact)
    except ValueError:
        return None
    after = update.case
    cancellation: Cancellation | str | None = update.cancellation
    if cancellation is None and after.stage != record.stage and record.stage != after.stages[0]:
        cancellation = STAGE_CHANGED
    entered: datetime | None = None
    if after.stage != record.stage and after.stage != after.stages[0]:
        entered = incoming.event.envelope.time or datetime.now(UTC)
    cure: Cure | None = None
    if is_cure(data.to_stage, after.stages):  # for the contacts-per-cure KPI
        cure = Cure(data.account_id, data.as_of, customer, data.from_stage, incoming.event.envelope.id)
    records[customer] = CaseRecord(
        case=after,
        stage=after.stage,
        stage_entered_at=entered or record.stage_entered_at,
        unreachable=record.unreachable,
        exists=True,
        linked=record.linked,
    )
    return _Effect(
        customer_id=customer,
        account_id=data.account_id,
        currency=data.currency,
        case=after,
        account=after.accounts.get(data.account_id) if after is not record.case else None,
        cancellation=cancellation,
        entered=entered,
        unreachable=record.unreachable,
        cure=cure,
    )


async def _write(
    session: AsyncSession, effects: Sequence[_Effect], plan: TreatmentPlan, horizon: timedelta
) -> None:
    """One round's writes, leaving what one change at a time leaves: the cancellations, the
    stages and the cures in one statement (``adapters.stage_writes``), then the plans of the
    stages entered (after the cancellations: a plan laid out again makes its cancelled contacts
    pending), then the rescoring."""
    cancellations = {e.customer_id: e.cancellation for e in effects if e.cancellation is not None}
    counts = await write_stage_changes(
        session,
        cancelled=recorded_reasons(cancellations),
        stages=[(e.customer_id, e.case.stage, e.entered) for e in effects],
        accounts=[(e.account_id, e.account) for e in effects if e.account is not None],
        cured=[e.cure for e in effects if e.cure is not None],
    )
    count_cancelled(session, cancellations, counts)
    for e in effects:
        if e.entered is not None:
            await schedule_stage(
                session, plan, e.case, e.account_id, e.entered, horizon, unreachable=e.unreachable
            )
    # A debtor whose pending work was cancelled in this round has none left but what
    # schedule_stage laid out just now, with this very score: only the others are rescored.
    await WorkRepository(session).rescore_many(
        {e.customer_id: case_score(e.case, e.unreachable) for e in effects if e.cancellation is None}
    )

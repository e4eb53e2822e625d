"""The account events of a consumer batch, applied set-wise: the same use case as one at a time.

Per ``account.opened`` or ``account.updated`` the contact service links an opened account to its
debtor (an update finds the debtor by its account), locks and loads the debtor's case, folds the
account's facts in (``domain.case.apply``: contact points, consents, timezone, language, flags,
risk), cancels the debtor's pending work when a stop flag or the hardship flag is set (else moves
it to the debtor's new timezone), saves the case, rescores the call tasks and, for an opening,
applies the stage changes that waited for it (``stage_changes``), in order. Here a run of
account events does each of those for all its debtors at once, in rounds (``rounds.in_rounds``):
each debtor and each account at most once per round, so every debtor's writes happen in the order
of its events, and each round loads its cases after the rounds before it wrote theirs, as each
event loads its case after the events before it. Input that can never be applied is rejected
before anything is written for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from collections_common.events import AccountOpened, AccountUpdated
from collections_common.runtime import Incoming
from contact_service.adapters.cases import CaseRecord, CaseRepository
from contact_service.adapters.waiting import WaitingStageChanges
from contact_service.adapters.work import WorkRepository
from contact_service.domain import case as cases_domain
from contact_service.domain.case import AccountFacts, Cancellation, Case
from contact_service.domain.plans import TreatmentPlan
from contact_service.rounds import in_rounds
from contact_service.stage_changes import apply_stage_changes
from contact_service.treatment import cancel_many, case_score, rezone_many

__all__ = [
    "NEVER_OPENED",
    "UNKNOWN_TIMEZONE",
    "AccountEvent",
    "Decision",
    "accepted",
    "apply_account_events",
    "decide",
]

NEVER_OPENED = "account.updated of an account the contact service never saw opened"
UNKNOWN_TIMEZONE = "holder.timezone is not a known IANA time zone"


@dataclass(frozen=True, slots=True)
class AccountEvent:
    """An account event that can be applied: its debtor's facts, and the currency of an opening
    (None for an update)."""

    customer_id: str
    fact: AccountFacts
    opened_in: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """What one account event writes, decided on its debtor's case as loaded."""

    case: Case
    cancellation: Cancellation | None
    zones: tuple[str, str]
    """The debtor's timezone before and after the event."""
    flags: Mapping[str, bool]
    """The flags of the event's account (the only account whose flags the event changes)."""
    score: int


async def apply_account_events(
    session: AsyncSession,
    events: Sequence[Incoming],
    plan: TreatmentPlan,
    horizon: timedelta,
) -> dict[int, str]:
    """Apply these ``account.opened`` and ``account.updated`` events in order, each opening with
    the stage changes that waited for it; the reasons of those rejected, by their index in
    ``events`` (nothing is written for them)."""
    cases = CaseRepository(session)
    updated = {data.account_id for data in (i.event.data for i in events) if isinstance(data, AccountUpdated)}
    applied, rejected = accepted(events, await cases.customers_of(updated))
    # Held already when the batch handler took them (``handlers.lock_debtors``), in this order.
    await cases.lock_accounts([e.fact.account_id for e in applied if e.opened_in is not None])
    await cases.lock_many({e.customer_id for e in applied})
    for round_ in in_rounds(applied, _keys):
        await _apply_round(session, round_, plan, horizon)
    return rejected


def accepted(
    events: Sequence[Incoming], linked: Mapping[str, str]
) -> tuple[list[AccountEvent], dict[int, str]]:
    """The events that can be applied, with their debtor, in order, and the reasons of the others
    by index. ``linked`` is each updated account's debtor as stored; an opening links its account
    to its debtor unless it is linked already (the first link stays), for the events after it."""
    debtors = dict(linked)
    applied: list[AccountEvent] = []
    rejected: dict[int, str] = {}
    for index, incoming in enumerate(events):
        data = incoming.event.data
        at = incoming.event.envelope.time or datetime.now(UTC)
        if isinstance(data, AccountOpened):
            if not _known_zone(data.holder.timezone):
                rejected[index] = UNKNOWN_TIMEZONE
                continue
            debtors.setdefault(data.account_id, data.customer_id)
            fact = AccountFacts(
                account_id=data.account_id,
                customer_id=data.customer_id,
                at=at,
                timezone=data.holder.timezone,
                language=data.holder.language,
                phones=list(data.holder.phones) if data.holder.phones is not None else None,
                email=data.holder.email,
                consents=data.consents.model_dump(exclude_none=True),
            )
            applied.append(AccountEvent(data.customer_id, fact, data.currency))
            continue
        assert isinstance(data, AccountUpdated)
        customer = debtors.get(data.account_id)
        if customer is None:
            rejected[index] = NEVER_OPENED
            continue
        holder = data.holder
        if holder is not None and not _known_zone(holder.timezone):
            rejected[index] = UNKNOWN_TIMEZONE
            continue
        fact = AccountFacts(
            account_id=data.account_id,
            customer_id=customer,
            at=at,
            timezone=holder.timezone if holder is not None else None,
            language=holder.language if holder is not None else None,
            phones=list(holder.phones) if holder is not None and holder.phones is not None else None,
            email=holder.email if holder is not None else None,
            consents=data.consents.model_dump(exclude_none=True) if data.consents is not None else {},
            flags=data.flags.model_dump(exclude_none=True) if data.flags is not None else {},
            risk_rating=data.risk.rating if data.risk is not None else None,
            signals=data.risk.signals if data.risk is not None else None,
        )
        applied.append(AccountEvent(customer, fact))
    return applied, rejected


def decide(record: CaseRecord, event: AccountEvent) -> Decision:
    """Fold the event's facts into the debtor's case as loaded (``domain.case.apply``)."""
    update = cases_domain.apply(record.case, event.fact)
    after = update.case
    return Decision(
        case=after,
        cancellation=update.cancellation,
        zones=(record.case.profile.timezone, after.profile.timezone),
        flags=after.account_flags[event.fact.account_id],
        score=case_score(after, record.unreachable),
    )


def _keys(event: AccountEvent) -> tuple[tuple[str, str], ...]:
    """Each debtor and each account at most once per round (``rounds.in_rounds``)."""
    return (("customer", event.customer_id), ("account", event.fact.account_id))


def _known_zone(name: str | None) -> bool:
    """Whether ``name`` is not said (None) or a known IANA time zone."""
    if name is None:
        return True
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


async def _apply_round(
    session: AsyncSession, events: Sequence[AccountEvent], plan: TreatmentPlan, horizon: timedelta
) -> None:
    """One round's writes (each debtor and account once), in the order one event at a time
    makes them: the links, the cases loaded, the cancellations or the moves to a new timezone,
    the cases saved, the rescoring, then the stage changes that waited for the accounts opened."""
    cases = CaseRepository(session)
    await cases.link_accounts(
        [(e.fact.account_id, e.customer_id, e.opened_in) for e in events if e.opened_in is not None]
    )
    records = await cases.load_many({e.customer_id for e in events})
    decisions = [(e, decide(records[e.customer_id], e)) for e in events]
    await cancel_many(
        session, {e.customer_id: d.cancellation for e, d in decisions if d.cancellation is not None}
    )
    await rezone_many(session, {e.customer_id: d.zones for e, d in decisions if d.cancellation is None})
    await cases.save_profiles(
        [d.case for _, d in decisions], {e.fact.account_id: d.flags for e, d in decisions}
    )
    await WorkRepository(session).rescore_many({e.customer_id: d.score for e, d in decisions})
    opened = [e.fact.account_id for e in events if e.opened_in is not None]
    waiting = await WaitingStageChanges(session).take(opened)
    kept = [incoming for account_id in opened for incoming in waiting.get(account_id, [])]
    if kept:
        rejected = await apply_stage_changes(session, kept, plan, horizon)
        # Kept only with a known stage, and the accounts are now linked: none can be rejected.
        assert not rejected, rejected

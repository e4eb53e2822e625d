"""Use cases of permits: the atomic reservation, outcomes and inbound contacts.

The reservation of DOMAIN.md section 5 (``decide_and_store``), in one transaction: take the
debtor's advisory lock and load the debtor's facts and the history inside ``history_window`` (one
statement: ``DecisionInputsRepository.lock_and_load``), decide with the pure policy, and store
the decision with its rule and, for a refusal, its ``permit.blocked`` event (one statement). Two
transactions racing for the debtor's last slot are serialised by the lock, so the second one sees
the first one's permit once it commits and is refused. The permit route runs it with
``Reservations`` (a pooled connection of its own and a transaction around the two statements);
the sender and the call tasks with ``reserve``, in the transaction of their session.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from collections_common.database import pooled_driver
from collections_common.events import EventTypes, Topics, new_event
from collections_common.events.contact import (
    ContactAttempted,
    DebtorUnreachable,
    HardshipReported,
    PermitBlocked,
    PromiseMade,
)
from collections_common.events.contact import Party as PartyData
from collections_common.runtime import Outbox
from collections_common.runtime.outbox import event_row
from contact_service.adapters.cases import CaseRepository, customer_of
from contact_service.adapters.decision_inputs import DecisionInputsRepository
from contact_service.adapters.driver import in_transaction
from contact_service.adapters.owners import AccountOwners
from contact_service.adapters.permits import InboundRow, PermitRepository, PermitRow, store_decision
from contact_service.adapters.promises import PromiseRepository, PromiseRow
from contact_service.domain.compliance import Allowed, PermitRequest, decide, history_window
from contact_service.domain.contact import CONNECTED, Outcome, Party, PartyKind, Purpose
from contact_service.domain.errors import InvalidOutcome, OutcomeConflict, UnknownAccount, UnknownThing
from contact_service.domain.localtime import local_day
from contact_service.domain.packs import RulePack
from contact_service.domain.promises import Promise
from contact_service.domain.reachability import is_unreachable
from contact_service.metrics import ATTEMPTS, PERMITS, PROMISES, count_on_commit

__all__ = [
    "EXPIRY",
    "OutcomeReport",
    "Reservations",
    "count_decision",
    "decide_and_store",
    "expire_unanswered",
    "record_inbound",
    "record_outcome",
    "record_reported",
    "reserve",
]

EXPIRY = "contact-expiry"
"""Who records ``unknown`` for an allowed permit left unanswered past its expiry."""

REACHABILITY_DAYS = 90
"""How far back the attempts counted for reachability go."""


def party_data(party: Party) -> PartyData:
    return PartyData(**present(kind=party.kind.value, id=party.id))


def present(**fields: Any) -> dict[str, Any]:
    """``fields`` without the ones that are None (events leave an absent optional field out)."""
    return {name: value for name, value in fields.items() if value is not None}


async def reserve(
    session: AsyncSession,
    *,
    pack: RulePack,
    source: str,
    request: PermitRequest,
    requested_by: str | None,
    customer_id: str | None = None,
) -> PermitRow:
    """Decide ``request`` and store the decision in ``session``'s transaction; commit is the caller's.
    ``customer_id``, the account's debtor, when the caller knows it."""
    cases = CaseRepository(session)
    customer = customer_id or await cases.customer_of(request.account_id)
    if customer is None:
        raise UnknownAccount()
    # Through the session, so that its transaction has begun before the statements sent to asyncpg.
    await cases.lock(customer)
    return await decide_and_store(
        await in_transaction(session),
        pack=pack,
        source=source,
        request=request,
        requested_by=requested_by,
        customer_id=customer,
    )


class Reservations:
    """Reservations of the permit route, each on a connection of its own from ``engine``'s pool
    (no session: the two statements are sent to asyncpg directly), in a transaction of its own.

    Accounts' debtors found are remembered (``AccountOwners``), which saves a lookup per permit.
    """

    def __init__(self, engine: AsyncEngine, *, pack: RulePack, source: str) -> None:
        self.engine = engine
        self.pack = pack
        self.source = source
        self.owners = AccountOwners()

    async def aclose(self) -> None:
        await self.engine.dispose()

    async def reserve(self, request: PermitRequest, *, requested_by: str | None) -> PermitRow:
        """Decide ``request`` and commit the decision."""
        customer = self.owners.get(request.account_id)
        async with pooled_driver(self.engine) as driver:
            if customer is None:
                customer = await customer_of(driver, request.account_id)
                if customer is None:
                    raise UnknownAccount()
            async with driver.transaction():
                row = await decide_and_store(
                    driver,
                    pack=self.pack,
                    source=self.source,
                    request=request,
                    requested_by=requested_by,
                    customer_id=customer,
                )
        self.owners.remember(row.account_id, customer)
        return row


async def decide_and_store(
    driver: Any,
    *,
    pack: RulePack,
    source: str,
    request: PermitRequest,
    requested_by: str | None,
    customer_id: str,
) -> PermitRow:
    """The reservation (see the module docstring) on ``driver``, an asyncpg connection in a
    transaction; the debtor's lock is held until that transaction ends."""
    reach = timedelta(days=pack.lookback_days + 2)  # covers history_window in any timezone
    inputs = await DecisionInputsRepository(driver).lock_and_load(
        customer_id, request.at - reach, request.at + reach
    )
    facts = inputs.facts
    start, end = history_window(pack, facts, request.at)
    decision = decide(pack, facts, request, inputs.within(start, end))
    allowed = isinstance(decision, Allowed)
    row = PermitRow(
        permit_id=str(uuid.uuid4()),
        customer_id=customer_id,
        account_id=request.account_id,
        channel=request.channel.value,
        contact_point=request.contact_point,
        party_kind=request.party.kind.value,
        party_id=request.party.id,
        autodialled=request.is_autodialled,
        purpose=request.purpose.value,
        at=request.at,
        pack=pack.name,
        allowed=allowed,
        expires_at=decision.expires_at if isinstance(decision, Allowed) else None,
        rule=None if isinstance(decision, Allowed) else decision.rule.value,
        retry_after=None if isinstance(decision, Allowed) else decision.retry_after,
        requested_by=requested_by,
        decided_at=datetime.now(UTC),
    )
    blocked = None
    if not allowed and row.rule is not None:
        blocked = event_row(
            Topics.CONTACT,
            new_event(
                EventTypes.PERMIT_BLOCKED,
                source,
                customer_id,
                PermitBlocked(
                    **present(
                        permit_id=row.permit_id,
                        account_id=row.account_id,
                        customer_id=customer_id,
                        channel=row.channel,
                        party=party_data(request.party),
                        pack=pack.name,
                        rule=row.rule,
                        at=row.at,
                        retry_after=row.retry_after,
                    ),
                ),
            ),
            key=row.account_id,
        )
    await store_decision(driver, row, blocked)
    return row


def count_decision(row: PermitRow) -> None:
    """Count a committed decision (``collections_contact_permits_total``)."""
    PERMITS.labels(row.channel, row.party_kind, "true" if row.allowed else "false", row.rule or "").inc()


@dataclass(frozen=True, slots=True)
class OutcomeReport:
    """An outcome reported for a permit."""

    outcome: Outcome
    at: datetime | None = None
    recording_ref: str | None = None
    details: dict[str, Any] | None = None


def _same(row: PermitRow, report: OutcomeReport) -> bool:
    return (
        row.outcome == report.outcome.value
        and row.recording_ref == report.recording_ref
        and (row.details or None) == (report.details or None)
        and (report.at is None or row.outcome_at == report.at)
    )


async def record_outcome(
    session: AsyncSession,
    outbox: Outbox,
    *,
    pack: RulePack,
    source: str,
    permit_id: str,
    report: OutcomeReport,
    by: str | None,
) -> tuple[PermitRow, bool]:
    """Record the outcome of an allowed permit; returns the permit and whether it changed.

    The same outcome again returns the permit as it is; a different one is an OutcomeConflict.
    The one exception is the ``unknown`` that ``expire_unanswered`` recorded: a late outcome
    replaces it, once, and ``contact.attempted`` is emitted again with the real outcome.
    A promise to pay becomes a promise (``promise.made``); hardship reported is emitted.
    """
    repo = PermitRepository(session)
    found = await repo.get(permit_id)
    if found is None:
        raise UnknownThing("no such permit")
    cases = CaseRepository(session)
    await cases.lock(found.customer_id)
    permit = await repo.get(permit_id, for_update=True)
    assert permit is not None
    if not permit.allowed:
        raise OutcomeConflict("a refused permit takes no outcome")
    if permit.outcome is not None and not expired_unanswered(permit):
        if _same(permit, report):
            return permit, False
        raise OutcomeConflict("this permit already has a different outcome")
    promise = _promise_of(report)
    at = report.at or datetime.now(UTC)
    await repo.set_outcome(
        permit_id,
        outcome=report.outcome.value,
        at=at,
        recording_ref=report.recording_ref,
        details=report.details,
        by=by,
    )
    customer = permit.customer_id
    _attempted(outbox, source, permit, report.outcome, at, report.recording_ref, by)
    if promise is not None:
        amount, due_on = promise
        currency = await cases.currency_of(permit.account_id) or "CNY"
        record = await cases.load(customer)
        made_on = local_day(at, record.case.compliance_facts().zone)
        if due_on < made_on:
            raise InvalidOutcome("a promise falls due on or after the day it is made")
        row = PromiseRow(
            promise=Promise(
                str(uuid.uuid4()), frozenset({permit.account_id}), amount, currency, made_on, due_on
            ),
            customer_id=customer,
            status="open",
            paid_minor=0,
            party_kind=permit.party_kind,
            party_id=permit.party_id,
            made_at=at,
            made_by=by,
            permit_id=permit.permit_id,
        )
        await PromiseRepository(session).add(row)
        outbox.add(
            Topics.CONTACT,
            new_event(
                EventTypes.PROMISE_MADE,
                source,
                customer,
                PromiseMade(
                    promise_id=row.promise.promise_id,
                    account_id=permit.account_id,
                    customer_id=customer,
                    amount_minor=amount,
                    currency=currency,
                    promised_date=due_on,
                    party=party_data(permit.party),
                    made_at=at,
                ),
            ),
            key=permit.account_id,
        )
        count_on_commit(session, PROMISES.labels("made"))
    if report.outcome is Outcome.HARDSHIP_REPORTED:
        willing = bool((report.details or {}).get("willing_to_pay", False))
        outbox.add(
            Topics.CONTACT,
            new_event(
                EventTypes.HARDSHIP_REPORTED,
                source,
                customer,
                HardshipReported(
                    **present(
                        account_id=permit.account_id,
                        customer_id=customer,
                        at=at,
                        willing_to_pay=willing,
                        source="agency" if permit.party_kind == PartyKind.AGENCY.value else "collector",
                        party=party_data(permit.party),
                    ),
                ),
            ),
            key=permit.account_id,
        )
    await _reachability(
        session, outbox, pack=pack, source=source, customer_id=customer, account_id=permit.account_id
    )
    count_on_commit(session, ATTEMPTS.labels(permit.channel, report.outcome.value))
    updated = await repo.get(permit_id)
    assert updated is not None
    return updated, True


def expired_unanswered(permit: PermitRow) -> bool:
    """Whether the permit's outcome is the ``unknown`` recorded when it expired unanswered."""
    return permit.outcome == Outcome.UNKNOWN.value and permit.outcome_by == EXPIRY


async def expire_unanswered(
    session: AsyncSession, outbox: Outbox, *, pack: RulePack, source: str, permit_id: str, now: datetime
) -> bool:
    """Record ``unknown`` for an allowed permit past its expiry with no outcome, and emit
    ``contact.attempted`` with it; False (nothing done) for any other permit, so a repeat is harmless."""
    repo = PermitRepository(session)
    found = await repo.get(permit_id)
    if found is None:
        return False
    await CaseRepository(session).lock(found.customer_id)
    permit = await repo.get(permit_id, for_update=True)
    assert permit is not None
    expires_at = permit.expires_at
    if not permit.allowed or permit.outcome is not None or expires_at is None or expires_at > now:
        return False
    await repo.set_outcome(
        permit_id, outcome=Outcome.UNKNOWN.value, at=expires_at, recording_ref=None, details=None, by=EXPIRY
    )
    _attempted(outbox, source, permit, Outcome.UNKNOWN, expires_at, None, EXPIRY)
    await _reachability(
        session,
        outbox,
        pack=pack,
        source=source,
        customer_id=permit.customer_id,
        account_id=permit.account_id,
    )
    count_on_commit(session, ATTEMPTS.labels(permit.channel, Outcome.UNKNOWN.value))
    return True


def _attempted(
    outbox: Outbox,
    source: str,
    permit: PermitRow,
    outcome: Outcome,
    at: datetime,
    recording_ref: str | None,
    actor: str | None,
) -> None:
    outbox.add(
        Topics.CONTACT,
        new_event(
            EventTypes.CONTACT_ATTEMPTED,
            source,
            permit.customer_id,
            ContactAttempted(
                **present(
                    permit_id=permit.permit_id,
                    account_id=permit.account_id,
                    customer_id=permit.customer_id,
                    channel=permit.channel,
                    party=party_data(permit.party),
                    outcome=outcome.value,
                    at=at,
                    recording_ref=recording_ref,
                    actor=actor,
                ),
            ),
        ),
        key=permit.account_id,
    )


def _promise_of(report: OutcomeReport) -> tuple[int, date] | None:
    if report.outcome is not Outcome.PROMISE_TO_PAY:
        return None
    promise = (report.details or {}).get("promise")
    if not isinstance(promise, dict):
        raise InvalidOutcome("a promise to pay needs details.promise with date and amount_minor")
    amount = promise.get("amount_minor")
    raw_date = promise.get("date")
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= 10**15:
        raise InvalidOutcome("details.promise.amount_minor must be a positive integer of minor units")
    try:
        due_on = date.fromisoformat(str(raw_date))
    except ValueError:
        raise InvalidOutcome("details.promise.date must be an ISO date (YYYY-MM-DD)") from None
    return amount, due_on


async def _reachability(
    session: AsyncSession, outbox: Outbox, *, pack: RulePack, source: str, customer_id: str, account_id: str
) -> None:
    cases = CaseRepository(session)
    record = await cases.load(customer_id)
    now = datetime.now(UTC)
    history = await PermitRepository(session).history(
        customer_id, now - timedelta(days=REACHABILITY_DAYS), now + timedelta(days=REACHABILITY_DAYS)
    )
    unreachable = is_unreachable(record.case.profile.contact_points, history, now, pack.unreachable_after)
    if unreachable == record.unreachable:
        return
    await cases.set_unreachable(customer_id, unreachable)
    if unreachable:
        outbox.add(
            Topics.CONTACT,
            new_event(
                EventTypes.DEBTOR_UNREACHABLE,
                source,
                customer_id,
                DebtorUnreachable(account_id=account_id, customer_id=customer_id, at=now),
            ),
            key=account_id,
        )


async def record_inbound(
    session: AsyncSession,
    outbox: Outbox,
    *,
    source: str,
    account_id: str,
    channel: str,
    contact_point: str,
    at: datetime,
    outcome: Outcome,
    by: str | None,
) -> InboundRow:
    """Record a contact the debtor made: a conversation, never an attempt."""
    cases = CaseRepository(session)
    customer = await cases.customer_of(account_id)
    if customer is None:
        raise UnknownAccount()
    await cases.lock(customer)
    row = InboundRow(
        contact_id=str(uuid.uuid4()),
        customer_id=customer,
        account_id=account_id,
        channel=channel,
        contact_point=contact_point,
        at=at,
        outcome=outcome.value,
        recorded_by=by,
    )
    await PermitRepository(session).add_inbound(row)
    if outcome in CONNECTED:
        await cases.set_unreachable(customer, False)
    outbox.add(
        Topics.CONTACT,
        new_event(
            EventTypes.CONTACT_ATTEMPTED,
            source,
            customer,
            ContactAttempted(
                **present(
                    permit_id=row.contact_id,
                    account_id=account_id,
                    customer_id=customer,
                    channel=channel,
                    party=PartyData(kind="bank"),
                    outcome=outcome.value,
                    at=at,
                    inbound=True,
                    actor=by,
                ),
            ),
        ),
        key=account_id,
    )
    return row


@dataclass(frozen=True, slots=True)
class ReportedContact:
    """A contact an agency reported it made (``collections.agency.activity.reported``)."""

    activity_id: str
    agency_id: str
    account_id: str
    customer_id: str
    channel: str
    at: datetime
    outcome: Outcome
    permit_id: str | None
    violation: str | None
    details: dict[str, Any] | None = None
    """``{"promise": {"date", "amount_minor"}}`` for a promise to pay, as a collector's outcome has."""


REPORTED = "agency-report"
"""``requested_by`` of the attempt stored for an agency's contact made outside a permit."""


def reported_id(agency_id: str, activity_id: str) -> str:
    """The attempt's id: the same report always gives the same one."""
    return f"R-{uuid.uuid5(uuid.NAMESPACE_URL, f'agency/{agency_id}/activity/{activity_id}')}"


async def record_reported(
    session: AsyncSession, outbox: Outbox, *, pack: RulePack, source: str, report: ReportedContact
) -> str:
    """Count an agency's reported contact toward the debtor's limits (DOMAIN.md section 7).

    Made under the agency's own allowed permit, on its channel and with no rule broken, it is that
    permit's outcome (``record_outcome``; an outcome already recorded stands). Otherwise it is
    stored as an attempt of its own, allowed (it happened) with the broken rule as its ``rule``, so
    every later decision counts it; ``contact.attempted`` is emitted either way. Returns
    ``outcome`` or ``attempt``; a repeat of the same report changes nothing.
    """
    by = f"agency:{report.agency_id}"
    repo = PermitRepository(session)
    permit = await repo.get(report.permit_id) if report.permit_id else None
    if (
        report.violation is None
        and permit is not None
        and permit.allowed
        and permit.party_kind == PartyKind.AGENCY.value
        and permit.party_id == report.agency_id
        and permit.customer_id == report.customer_id
        and permit.channel == report.channel
    ):
        # An outcome recorded first stands; the gateway keeps the report as a fact.
        with contextlib.suppress(OutcomeConflict):
            await record_outcome(
                session,
                outbox,
                pack=pack,
                source=source,
                permit_id=permit.permit_id,
                report=OutcomeReport(report.outcome, report.at, details=report.details),
                by=by,
            )
        return "outcome"
    attempt_id = reported_id(report.agency_id, report.activity_id)
    await CaseRepository(session).lock(report.customer_id)
    if await repo.get(attempt_id) is not None:
        return "attempt"
    row = PermitRow(
        permit_id=attempt_id,
        customer_id=report.customer_id,
        account_id=report.account_id,
        channel=report.channel,
        contact_point=permit.contact_point if permit is not None else "",
        party_kind=PartyKind.AGENCY.value,
        party_id=report.agency_id,
        autodialled=False,
        purpose=Purpose.COLLECT.value,
        at=report.at,
        pack=pack.name,
        allowed=True,
        expires_at=report.at,  # it has happened: no slot is held for it
        rule=report.violation or "no_permit",
        retry_after=None,
        requested_by=REPORTED,
        decided_at=datetime.now(UTC),
    )
    await repo.add(row)
    await repo.set_outcome(
        attempt_id, outcome=report.outcome.value, at=report.at, recording_ref=None, details=None, by=by
    )
    _attempted(outbox, source, row, report.outcome, report.at, None, by)
    count_on_commit(session, ATTEMPTS.labels(row.channel, report.outcome.value))
    return "attempt"

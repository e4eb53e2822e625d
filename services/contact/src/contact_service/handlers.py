"""Use cases of the contact service, one handler per inbound event type.

Each loads (repositories on ``batch.session``), decides (the domain), stores and emits in the
batch's one transaction. Repeats are harmless: a case's facts are folded by date (an older
assessment changes nothing), a plan's contacts are unique per (debtor, stage, step, due time),
payments are keyed by their id, promises are decided once, and the runner records event
identities besides.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import groupby

from sqlalchemy.ext.asyncio import AsyncSession

from collections_common.events import (
    AccountOpened,
    AccountUpdated,
    ActivityReported,
    BusinessDayClosed,
    EventData,
    EventTypes,
    PaymentPosted,
    PaymentReversed,
    RestructuringAgreed,
    StageChanged,
    Topics,
    new_event,
)
from collections_common.events import HoldEnded as HoldEndedEvent
from collections_common.runtime import BadInput, Batch, EventHandler, Incoming, per_event
from collections_common.runtime.runner import BatchHandler
from contact_service.account_events import apply_account_events
from contact_service.adapters.cases import CaseRepository
from contact_service.adapters.promises import PromiseRepository
from contact_service.domain import case as cases_domain
from contact_service.domain.contact import Outcome
from contact_service.domain.errors import InvalidOutcome
from contact_service.permits import ReportedContact, record_reported
from contact_service.plans import LoadedPlan, load_plan
from contact_service.promise_judge import decide_promise
from contact_service.settings import ContactSettings
from contact_service.stage_changes import apply_stage_changes
from contact_service.treatment import cancel

__all__ = ["ContactHandlers", "handler_for"]


def _event_time(incoming: Incoming) -> datetime:
    return incoming.event.envelope.time or datetime.now(UTC)


class ContactHandlers:
    """The consumers' use cases, configured by the service's settings and plan."""

    def __init__(self, settings: ContactSettings, plan: LoadedPlan | None = None) -> None:
        self.settings = settings
        self.plan = plan or load_plan(settings.plan_file)
        self.source = settings.source
        self.horizon = settings.plan_horizon

    @property
    def handlers(self) -> dict[type[EventData], EventHandler]:
        return {
            StageChanged: self.on_stage_changed,
            AccountOpened: self.on_account_event,
            AccountUpdated: self.on_account_event,
            PaymentPosted: self.on_payment_posted,
            PaymentReversed: self.on_payment_reversed,
            BusinessDayClosed: self.on_business_day_closed,
            RestructuringAgreed: self.on_restructuring_agreed,
            ActivityReported: self.on_activity_reported,
        }

    # -- collections.delinquency.v1 --------------------------------------------------------------
    async def on_stage_changed(self, incoming: Incoming, batch: Batch) -> None:
        rejected = await self.stage_changes(batch, [incoming])
        if rejected:
            raise BadInput(rejected[0])

    async def stage_changes(self, batch: Batch, events: Sequence[Incoming]) -> dict[int, str]:
        """A run of stage changes applied together (``stage_changes``), those whose debtor is not
        known yet kept until their account's opening: the reasons of those rejected, by index;
        nothing is written for them."""
        return await apply_stage_changes(batch.session, events, self.plan.plan, self.horizon)

    # -- corebank.accounts.v1 --------------------------------------------------------------------
    async def on_account_event(self, incoming: Incoming, batch: Batch) -> None:
        rejected = await self.account_events(batch, [incoming])
        if rejected:
            raise BadInput(rejected[0])

    async def account_events(self, batch: Batch, events: Sequence[Incoming]) -> dict[int, str]:
        """A run of ``account.opened`` and ``account.updated`` applied together
        (``account_events``), each opening with the stage changes that waited for it: the reasons
        of those rejected, by index; nothing is written for them."""
        return await apply_account_events(batch.session, events, self.plan.plan, self.horizon)

    # -- corebank.payments.v1 --------------------------------------------------------------------
    async def on_payment_posted(self, incoming: Incoming, batch: Batch) -> None:
        await self.payments_posted(batch, [incoming])

    async def payments_posted(self, batch: Batch, events: Sequence[Incoming]) -> None:
        """A run of payments recorded together, in one statement, each with its broker timestamp
        (the promise judge counts the payments stamped by a close)."""
        posted = []
        for incoming in events:
            data = incoming.event.data
            assert isinstance(data, PaymentPosted)
            posted.append(
                (
                    data.account_id,
                    data.payment_id,
                    data.amount_minor,
                    data.currency,
                    data.value_date,
                    incoming.delivery.timestamp,
                )
            )
        await PromiseRepository(batch.session).record_payments(posted)

    async def on_payment_reversed(self, incoming: Incoming, batch: Batch) -> None:
        data = incoming.event.data
        assert isinstance(data, PaymentReversed)
        repo = PromiseRepository(batch.session)
        value_date = await repo.record_reversal(data.account_id, data.payment_id)
        if value_date is None:
            return
        for row in await repo.kept_covering(data.account_id, value_date):
            # A kept promise is decided again: without the reversed payment it may be broken.
            await decide_promise(
                batch.session, batch.outbox, self.source, row, row.promise.due_on, only_broken=True
            )

    # -- corebank.calendar.v1 --------------------------------------------------------------------
    async def on_business_day_closed(self, incoming: Incoming, batch: Batch) -> None:
        data = incoming.event.data
        assert isinstance(data, BusinessDayClosed)
        day = data.business_date
        # Judged by the PromiseJudge once the payments published before this close are applied.
        await PromiseRepository(batch.session).note_close(day, incoming.delivery.timestamp)
        cases = CaseRepository(batch.session)
        now = _event_time(incoming)
        for customer, hold in await cases.lapsed_holds(day + timedelta(days=1)):
            await cases.end_hold(hold.hold_id, hold.ends_on, "calendar")
            batch.outbox.add(
                Topics.CONTACT,
                new_event(
                    EventTypes.HOLD_ENDED,
                    self.source,
                    customer,
                    HoldEndedEvent(
                        hold_id=hold.hold_id,
                        account_id=hold.account_id,
                        customer_id=customer,
                        ended_on=hold.ends_on,
                        at=now,
                    ),
                ),
                key=hold.account_id,
            )

    # -- collections.escalation.v1 ---------------------------------------------------------------
    async def on_restructuring_agreed(self, incoming: Incoming, batch: Batch) -> None:
        data = incoming.event.data
        assert isinstance(data, RestructuringAgreed)
        cases = CaseRepository(batch.session)
        await cases.link_account(data.account_id, data.customer_id, data.currency)
        await cases.lock(data.customer_id)
        record = await cases.load(data.customer_id)
        fact = cases_domain.RestructuringAgreed(data.account_id, data.agreed_at.date())
        update = cases_domain.apply(record.case, fact)
        if update.cancellation is not None:
            await cancel(batch.session, data.customer_id, update.cancellation)

    # -- collections.agency.v1 --------------------------------------------------------------------
    async def on_activity_reported(self, incoming: Incoming, batch: Batch) -> None:
        """An agency's reported contact or visit counts toward the debtor's limits."""
        data = incoming.event.data
        assert isinstance(data, ActivityReported)
        if data.kind not in ("contact", "visit"):
            return  # promises and payments arranged are the gateway's and escalation's facts
        channel = "visit" if data.kind == "visit" else data.channel
        if channel is None:
            raise BadInput("a reported contact names its channel")
        details = None
        if data.promise is not None:
            details = {
                "promise": {
                    "date": data.promise.promised_date.isoformat(),
                    "amount_minor": data.promise.amount_minor,
                }
            }
        outcome = Outcome(data.outcome) if data.outcome is not None else Outcome.UNKNOWN
        if outcome is Outcome.PROMISE_TO_PAY and details is None:
            outcome = Outcome.REACHED  # a promise without its terms is a conversation, not a promise
        report = ReportedContact(
            activity_id=data.activity_id,
            agency_id=data.agency_id,
            account_id=data.account_id,
            customer_id=data.customer_id,
            channel=channel,
            at=data.at,
            outcome=outcome,
            permit_id=data.permit_id,
            violation=data.violation,
            details=details,
        )
        try:
            await record_reported(
                batch.session, batch.outbox, pack=self.settings.pack, source=self.source, report=report
            )
        except InvalidOutcome as exc:
            raise BadInput(f"a reported promise to pay: {exc}") from None


def waves(events: Sequence[Incoming]) -> Iterator[tuple[type[EventData], list[Incoming]]]:
    """``events`` as runs of one event type, each partition's events in their order.

    Kafka orders events only within a partition; a consumer batch lists each partition's events
    together, the partitions in no particular order. So the leading runs of the same type of
    every partition are taken together: a batch of stage changes and payments over twelve
    partitions is two runs, not twelve. Events listed otherwise (a partition's events apart, as
    a test may list them) are taken as listed, in runs of consecutive events of one type.
    """
    blocks = [
        (position, list(block))
        for position, block in groupby(events, key=lambda i: (i.delivery.topic, i.delivery.partition))
    ]
    if len({position for position, _ in blocks}) != len(blocks):
        for kind, run in groupby(events, key=lambda i: type(i.event.data)):
            yield kind, list(run)
        return
    streams = [
        [(kind, list(run)) for kind, run in groupby(block, key=lambda i: type(i.event.data))][::-1]
        for _, block in blocks
    ]  # each partition's runs, the next one last
    while streams:
        kind = streams[0][-1][0]
        wave: list[Incoming] = []
        for stream in streams:
            if stream[-1][0] is kind:
                wave.extend(stream.pop()[1])
        streams = [stream for stream in streams if stream]
        yield kind, wave


_ACCOUNT_EVENTS = (AccountOpened, AccountUpdated)
"""Applied together (``ContactHandlers.account_events``), a run of both types at once."""

_NAMING_THEIR_DEBTOR = (AccountOpened, RestructuringAgreed, ActivityReported)
"""With ``AccountUpdated`` (found by its account), the events whose handlers take their debtor's
advisory lock (stage changes take theirs in ``apply_stage_changes``; payments take none)."""


async def lock_debtors(session: AsyncSession, events: Sequence[Incoming]) -> None:
    """Take the advisory lock of every debtor whose lock the handlers of ``events`` take, all in
    one statement in key order (``CaseRepository.lock_many``), before any of them runs; before
    them, the locks of the accounts opened (``CaseRepository.lock_accounts``).

    The stage changes have a consumer of their own (``bootstrap``) that locks its accounts and
    debtors the same way; were this batch's handlers to take their locks one after another in
    the events' order, the two transactions could each hold a lock the other waits for. The
    handlers take them again, which a transaction holding them passes through."""
    named: set[str] = set()
    opened: set[str] = set()
    by_account: list[str] = []
    for incoming in events:
        data = incoming.event.data
        if isinstance(data, AccountUpdated):
            by_account.append(data.account_id)
        elif isinstance(data, _NAMING_THEIR_DEBTOR):
            named.add(data.customer_id)
        if isinstance(data, AccountOpened):
            opened.add(data.account_id)
    cases = CaseRepository(session)
    await cases.lock_accounts(opened)
    await cases.lock_many(named | set((await cases.customers_of(by_account)).values()))


def handler_for(settings: ContactSettings, plan: LoadedPlan | None = None) -> BatchHandler:
    """The batch handler of the contact worker: the debtors of the events handled one by one
    locked up front (``lock_debtors``), then each run of consecutive stage changes, of
    consecutive payments and of consecutive account events (opened and updated together)
    applied together (``ContactHandlers.stage_changes``, ``payments_posted``,
    ``account_events``), every other event by ``per_event`` over ``ContactHandlers``, all in
    the batch's order."""
    handlers = ContactHandlers(settings, plan)
    one_by_one = per_event(handlers.handlers)

    async def handle(batch: Batch) -> None:
        await lock_debtors(batch.session, batch.events)
        for accounts, runs in groupby(waves(batch.events), key=lambda run: run[0] in _ACCOUNT_EVENTS):
            if accounts:  # consecutive runs of account events, each partition's still in order
                events = [incoming for _, run in runs for incoming in run]
                for index, reason in (await handlers.account_events(batch, events)).items():
                    batch.reject(events[index], reason)
                continue
            for kind, events in runs:
                if kind is StageChanged:
                    for index, reason in (await handlers.stage_changes(batch, events)).items():
                        batch.reject(events[index], reason)
                elif kind is PaymentPosted:
                    await handlers.payments_posted(batch, events)
                else:
                    await one_by_one(
                        Batch(
                            session=batch.session, outbox=batch.outbox, events=events, rejected=batch.rejected
                        )
                    )

    return handle

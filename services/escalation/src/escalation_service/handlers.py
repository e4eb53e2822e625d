"""Use cases of the escalation service, one handler per inbound event type.

Each loads (repositories on ``batch.session``), decides (the pure evaluator and domain), stores
and emits (``effects.py``) in the batch's one transaction. Repeats are harmless: the runner
records event identities; a stage change sent again under another event id is recognised by
its facts (``stage_changes_seen``); every decision is stored under its idempotency key and acts
only when first stored.

Inside one batch, reference data is applied first (the agency registry, then account and payment
facts, then stage changes and contact outcomes, then the calendar): the order across topics is
not the producers' anyway, and a stage change then sees the account's holder published before it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from collections_common.events import (
    AccountClosed,
    AccountOpened,
    AccountUpdated,
    AgencyRegistered,
    AgencyUpdated,
    BusinessDayClosed,
    CaseReturned,
    ComplaintReceived,
    DebtorUnreachable,
    EventData,
    HardshipReported,
    HoldEnded,
    HoldSet,
    PaymentPosted,
    PaymentReversed,
    PromiseBroken,
    PromiseKept,
    PromiseMade,
    StageChanged,
    Topics,
)
from collections_common.runtime import BadInput, Batch, EventHandler, Incoming, per_event
from collections_common.runtime.runner import BatchHandler
from escalation_service import effects
from escalation_service.adapters.accounts import Accounts, BusinessClock, ContactFacts, Payments
from escalation_service.adapters.placements import Agencies, Placements
from escalation_service.domain import evaluator
from escalation_service.domain.episodes import Episode
from escalation_service.effects import Work
from escalation_service.settings import EscalationSettings

__all__ = ["EscalationHandlers", "handler_for"]

TOPIC_ORDER = {
    Topics.AGENCY: 0,
    Topics.ACCOUNTS: 1,
    Topics.PAYMENTS: 2,
    Topics.DELINQUENCY: 3,
    Topics.CONTACT: 4,
    Topics.CALENDAR: 5,
}
CONTACT_FACTS: tuple[type[EventData], ...] = (
    PromiseMade,
    PromiseKept,
    PromiseBroken,
    HoldSet,
    HoldEnded,
    DebtorUnreachable,
)
FLAG_NAMES = (
    "do_not_contact",
    "dispute",
    "bankruptcy",
    "deceased",
    "legal_representation",
    "hardship",
    "fraud_suspected",
)


class EscalationHandlers:
    """The consumers' use cases, configured by the service's settings (and so its rules)."""

    def __init__(self, settings: EscalationSettings) -> None:
        self.settings = settings

    @property
    def handlers(self) -> dict[type[EventData], EventHandler]:
        handlers: dict[type[EventData], EventHandler] = {
            StageChanged: self.on_stage_changed,
            AccountOpened: self.on_account_opened,
            AccountUpdated: self.on_account_updated,
            AccountClosed: self.on_account_closed,
            HardshipReported: self.on_hardship_reported,
            ComplaintReceived: self.on_complaint_received,
            AgencyRegistered: self.on_agency_changed,
            AgencyUpdated: self.on_agency_changed,
            CaseReturned: self.on_case_returned,
            PaymentPosted: self.on_payment_posted,
            PaymentReversed: self.on_payment_reversed,
            BusinessDayClosed: self.on_business_day_closed,
        }
        for fact in CONTACT_FACTS:
            handlers[fact] = self.on_contact_fact
        return handlers

    def _work(self, batch: Batch, today: Any) -> Work:
        return Work(batch.session, batch.outbox, self.settings, today)

    # -- collections.delinquency.v1 ------------------------------------------------------------
    async def on_stage_changed(self, incoming: Incoming, batch: Batch) -> None:
        data = incoming.event.data
        assert isinstance(data, StageChanged)
        book = self.settings.rules
        if data.from_stage not in book.stages or data.to_stage not in book.stages:
            raise BadInput("stage: not one of the configured stages")
        repo = Accounts(batch.session)
        fresh = await repo.first_sight_of_change(
            account_id=data.account_id,
            cause_event_id=data.cause_event_id,
            from_stage=data.from_stage,
            to_stage=data.to_stage,
            as_of=data.as_of,
            event_id=incoming.event.envelope.id,
        )
        if not fresh:
            return  # the same change under another event id: the same facts act once
        known = await repo.get(data.account_id)
        customer_id = data.customer_id or (known.customer_id if known else None) or data.account_id
        await repo.lock_debtor(customer_id)
        known = await repo.get(data.account_id)
        await repo.save_stage(
            data.account_id,
            customer_id=customer_id,
            stage=data.to_stage,
            dpd=data.dpd,
            past_due_minor=data.past_due_minor,
            currency=data.currency,
            oldest_unpaid_due_date=data.oldest_unpaid_due_date,
            as_of=data.as_of,
            episode=known.episode if known else Episode(),
        )
        account = await repo.get(data.account_id)
        assert account is not None
        await effects.evaluate_and_act(
            self._work(batch, data.as_of),
            account,
            evaluator.StageChanged(data.from_stage, data.to_stage),
            cause_event_id=incoming.event.envelope.id,
            stage_event=data,
        )

    # -- corebank.accounts.v1 ------------------------------------------------------------------
    async def on_account_opened(self, incoming: Incoming, batch: Batch) -> None:
        data = incoming.event.data
        assert isinstance(data, AccountOpened)
        values = _holder_values(data.holder.model_dump(exclude_none=True))
        values["customer_id"] = data.customer_id
        known = await Accounts(batch.session).get(data.account_id)
        if known is None or known.currency is None:
            values["currency"] = data.currency
        await Accounts(batch.session).upsert_holder(data.account_id, values)

    async def on_account_updated(self, incoming: Incoming, batch: Batch) -> None:
        data = incoming.event.data
        assert isinstance(data, AccountUpdated)
        repo = Accounts(batch.session)
        known = await repo.get(data.account_id)
        values: dict[str, Any] = {}
        if data.holder is not None:
            values.update(_holder_values(data.holder.model_dump(exclude_none=True), known))
        risk_changed = False
        if data.flags is not None:
            flags = set(known.flags) if known else set()
            for name in FLAG_NAMES:
                value = getattr(data.flags, name)
                if value is True:
                    flags.add(name)
                elif value is False:
                    flags.discard(name)
            values["flags"] = sorted(flags)
            risk_changed = True
        if data.risk is not None and data.risk.signals is not None:
            values["signals"] = sorted(set(data.risk.signals))
            risk_changed = True
        if values:
            await repo.upsert_holder(data.account_id, values)
        account = await repo.get(data.account_id)
        if not risk_changed or account is None or account.customer_id is None:
            return
        today = await BusinessClock(batch.session).today()
        await effects.evaluate_and_act(
            self._work(batch, today),
            account,
            evaluator.RiskUpdated(),
            cause_event_id=incoming.event.envelope.id,
        )

    async def on_account_closed(self, incoming: Incoming, batch: Batch) -> None:
        """A closed account still owes and keeps aging: nothing changes here."""

    # -- collections.contact.v1 ----------------------------------------------------------------
    async def on_hardship_reported(self, incoming: Incoming, batch: Batch) -> None:
        data = incoming.event.data
        assert isinstance(data, HardshipReported)
        await self._fact(incoming, batch, data.account_id, data.customer_id, "hardship_reported", data.at)
        repo = Accounts(batch.session)
        account = await repo.get(data.account_id)
        if account is None:
            await repo.upsert_holder(data.account_id, {"customer_id": data.customer_id})
            account = await repo.get(data.account_id)
            assert account is not None
        elif account.customer_id is None:
            account = replace(account, customer_id=data.customer_id)
        today = await BusinessClock(batch.session).today()
        await effects.evaluate_and_act(
            self._work(batch, today),
            account,
            evaluator.HardshipReported(willing_to_pay=data.willing_to_pay),
            cause_event_id=incoming.event.envelope.id,
        )

    async def on_complaint_received(self, incoming: Incoming, batch: Batch) -> None:
        """A complaint about an agency's collection recalls the debtor's case from that agency."""
        data = incoming.event.data
        assert isinstance(data, ComplaintReceived)
        await self._fact(incoming, batch, data.account_id, data.customer_id, "complaint_received", data.at)
        if data.against.kind != "agency":
            return
        await Accounts(batch.session).lock_debtor(data.customer_id)
        placement = await Placements(batch.session).active_of(data.customer_id, lock=True)
        if placement is None or (data.against.id is not None and data.against.id != placement.agency_id):
            return
        today = await BusinessClock(batch.session).today()
        await effects.recall_placement(
            self._work(batch, max(today, placement.placed_on)), placement, "complaint"
        )

    async def on_contact_fact(self, incoming: Incoming, batch: Batch) -> None:
        """Promises, holds and unreachability are kept as facts of the account."""
        data: Any = incoming.event.data
        at = getattr(data, "at", None) or getattr(data, "made_at", None)
        kind = incoming.event.envelope.type.removeprefix("collections.").replace(".", "_")
        await self._fact(incoming, batch, data.account_id, data.customer_id, kind, at)

    async def _fact(
        self, incoming: Incoming, batch: Batch, account_id: str, customer_id: str, kind: str, at: Any
    ) -> None:
        await ContactFacts(batch.session).record(
            event_id=incoming.event.envelope.id,
            account_id=account_id,
            customer_id=customer_id,
            kind=kind,
            at=at,
            detail=incoming.event.data.model_dump(mode="json"),
        )

    # -- collections.agency.v1 -----------------------------------------------------------------
    async def on_agency_changed(self, incoming: Incoming, batch: Batch) -> None:
        data = incoming.event.data
        assert isinstance(data, AgencyRegistered | AgencyUpdated)
        if data.contract_end < data.contract_start:
            raise BadInput("contract_end: before contract_start")
        await Agencies(batch.session).upsert(
            agency_id=data.agency_id,
            name=data.name,
            regions=data.regions,
            capacity=data.capacity,
            active=data.active,
            contract_start=data.contract_start,
            contract_end=data.contract_end,
            review_due=data.review_due,
            event_id=incoming.event.envelope.id,
        )
        today = await BusinessClock(batch.session).today()
        await effects.retry_unplaced(self._work(batch, today))

    async def on_case_returned(self, incoming: Incoming, batch: Batch) -> None:
        data = incoming.event.data
        assert isinstance(data, CaseReturned)
        await Accounts(batch.session).lock_debtor(data.customer_id)
        placement = await Placements(batch.session).get(data.placement_id, lock=True)
        if placement is None or placement.recalled_on is not None or placement.agency_id != data.agency_id:
            return
        today = await BusinessClock(batch.session).today()
        work = self._work(batch, max(today, placement.placed_on))
        work.actor = f"agency:{data.agency_id}"
        await effects.recall_placement(work, placement, "returned")

    # -- corebank.payments.v1 ------------------------------------------------------------------
    async def on_payment_posted(self, incoming: Incoming, batch: Batch) -> None:
        data = incoming.event.data
        assert isinstance(data, PaymentPosted)
        account = await Accounts(batch.session).get(data.account_id)
        await Payments(batch.session).record(
            account_id=data.account_id,
            payment_id=data.payment_id,
            customer_id=account.customer_id if account else None,
            amount_minor=data.amount_minor,
            value_date=data.value_date,
        )

    async def on_payment_reversed(self, incoming: Incoming, batch: Batch) -> None:
        data = incoming.event.data
        assert isinstance(data, PaymentReversed)
        await Payments(batch.session).reverse(account_id=data.account_id, payment_id=data.payment_id)

    # -- corebank.calendar.v1 ------------------------------------------------------------------
    async def on_business_day_closed(self, incoming: Incoming, batch: Batch) -> None:
        """Moves the clock; recalls placements past their end (``expiry``), expires lapsed offers,
        finds broken plans, and tries again the placements no agency could take."""
        data = incoming.event.data
        assert isinstance(data, BusinessDayClosed)
        clock = BusinessClock(batch.session)
        await clock.close(data.business_date)
        today = data.business_date + timedelta(days=1)
        work = self._work(batch, today)
        for row in await Placements(batch.session).due_to_expire(today):
            await effects.recall_placement(work, row, "expiry", on=row.ends_on)
        await effects.expire_offers(work)
        await effects.check_plans(work)
        await effects.retry_unplaced(work)


def _holder_values(holder: dict[str, Any], known: Any = None) -> dict[str, Any]:
    """The ``accounts`` columns a holder (whole or partial) sets; the national ID is kept as its
    last four characters only (what an agency may see)."""
    values: dict[str, Any] = {}
    if "name" in holder:
        values["holder_name"] = holder["name"]
    if "national_id" in holder:
        values["national_id_last4"] = holder["national_id"][-4:] or None
    if "phones" in holder:
        values["phones"] = list(holder["phones"])
    if "email" in holder:
        values["email"] = holder["email"]
    if "address" in holder:
        address = {**(known.address or {} if known is not None else {}), **holder["address"]}
        values["address"] = address
        values["region"] = address.get("region")
    if "language" in holder:
        values["language"] = holder["language"]
    return values


def _priority(incoming: Incoming) -> int:
    return TOPIC_ORDER.get(incoming.delivery.topic, len(TOPIC_ORDER))


def handler_for(settings: EscalationSettings) -> BatchHandler:
    """The consumer's batch handler: reference data first, then ``per_event``."""
    apply = per_event(EscalationHandlers(settings).handlers)

    async def handle(batch: Batch) -> None:
        ordered = sorted(batch.events, key=_priority)  # stable: each topic keeps its order
        await apply(Batch(batch.session, batch.outbox, ordered, batch.rejected))

    return handle

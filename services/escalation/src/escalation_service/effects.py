"""What decisions do: store the action they open or close and emit its event through the outbox.

Shared by the consumers (``handlers.py``) and the API. Every function works in the caller's one
transaction (``Work``: its session and outbox) and emits on ``collections.escalation.v1`` keyed by
the account whose change caused it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from collections_common.events import (
    BureauCleared,
    BureauFlagged,
    CaseAccount,
    CasePlaced,
    CaseRecalled,
    ContactPoint,
    EventData,
    EventTypes,
    Instalment,
    LegalOpened,
    PlacedDebtor,
    RestructuringAgreed,
    RestructuringOffered,
    Topics,
    VisitScheduled,
    new_event,
)
from collections_common.events.escalation import RecallReason as EventRecallReason
from collections_common.runtime import Outbox
from escalation_service.adapters.accounts import AccountRecord, Accounts, BusinessClock, Payments
from escalation_service.adapters.decisions import Decisions
from escalation_service.adapters.legal import LegalFiles
from escalation_service.adapters.letters import Letters
from escalation_service.adapters.offers import Offers, to_offer
from escalation_service.adapters.placements import Agencies, BureauFlags, Placements
from escalation_service.adapters.visits import Visits, to_visit
from escalation_service.domain import legal, restructuring, visits
from escalation_service.domain.evaluator import (
    AccountFacts,
    Decision,
    Evaluation,
    Event,
    RestructuringBroken,
    StageChanged,
    Tracking,
    evaluate,
)
from escalation_service.domain.letters import Language
from escalation_service.domain.placement import STOP_FLAGS, PaymentRecord, allocate, recovery_rate
from escalation_service.domain.restructuring import Agreement, Offer, Terms
from escalation_service.metrics import ACTIONS, OFFERS, RECALLS, count_on_commit
from escalation_service.settings import EscalationSettings

__all__ = [
    "Work",
    "agree",
    "evaluate_and_act",
    "recall_placement",
    "retry_unplaced",
]

RULE_ACTOR = "rules"


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


@dataclass
class Work:
    """One transaction's session and outbox, the settings, the day it acts on and who acts."""

    session: AsyncSession
    outbox: Outbox
    settings: EscalationSettings
    today: date
    actor: str = RULE_ACTOR

    def emit(self, event_type: str, account_id: str, data: EventData) -> None:
        event = new_event(event_type, self.settings.source, account_id, data)
        self.outbox.add(Topics.ESCALATION, event, key=account_id)

    def count(self, action: str, status: str) -> None:
        count_on_commit(self.session, ACTIONS.labels(action, status))


async def business_today(session: AsyncSession) -> date:
    return await BusinessClock(session).today()


# -- evaluation ----------------------------------------------------------------------------------
async def evaluate_and_act(
    work: Work, account: AccountRecord, event: Event, *, cause_event_id: str, stage_event: Any = None
) -> Evaluation:
    """Evaluates the rules on one event about ``account`` (its row already updated) and acts on
    every decision not taken before. The debtor is locked for the rest of the transaction."""
    customer_id = account.customer_id or account.account_id
    repo = Accounts(work.session)
    await repo.lock_debtor(customer_id)
    book = work.settings.rules
    others = [a for a in await repo.of_debtor(customer_id) if a.account_id != account.account_id]
    cure = book.cure_stage
    tracking = Tracking(
        account=account.episode,
        debtor=await repo.debtor_episode(customer_id),
        others_delinquent=any(a.stage not in (None, cure) for a in others),
    )
    facts = AccountFacts(
        account_id=account.account_id,
        customer_id=customer_id,
        stage=account.stage or cure,
        past_due_minor=account.past_due_minor,
        debtor_past_due_minor=account.past_due_minor + sum(a.past_due_minor for a in others),
        flags=account.flags,
        signals=account.signals,
        address_known=account.address_known,
    )
    decisions = Decisions(work.session)
    evaluation = evaluate(
        book,
        event,
        facts,
        tracking,
        decided=await decisions.decided(account.account_id, customer_id),
        open_actions=await decisions.open_actions(account.account_id, customer_id),
    )
    if isinstance(event, StageChanged):
        await repo.save_debtor_episode(customer_id, evaluation.tracking.debtor)
        await repo.upsert_holder(
            account.account_id,
            {
                "episode_number": evaluation.tracking.account.number,
                "episode_open": evaluation.tracking.account.open,
                "episode_reached": evaluation.tracking.account.reached,
            },
        )
    for decision in evaluation.decisions:
        if await decisions.record(decision, cause_event_id=cause_event_id):
            outcome = await _act(work, decision, account, stage_event)
            await decisions.set_outcome(decision.key, outcome)
    return evaluation


async def _act(work: Work, decision: Decision, account: AccountRecord, stage_event: Any) -> dict[str, Any]:
    if decision.effect == "close":
        return await _close(work, decision)
    match decision.action:
        case "demand_letter":
            return await _open_letter(work, decision, account, stage_event)
        case "home_visit":
            return await _open_visit(work, decision)
        case "restructuring_offer":
            return await _open_offer(work, decision, account)
        case "agency_placement":
            return await place(
                work, decision.key, decision.rule_id, decision.account_id, decision.customer_id
            )
        case "legal_file":
            return await _open_legal(work, decision)
        case "bureau_flag":
            return await _open_bureau(work, decision)
    raise AssertionError(f"no effect for action {decision.action}")  # pragma: no cover


# -- opening -------------------------------------------------------------------------------------
def letter_language(holder_language: str | None, default: Language) -> Language:
    if holder_language:
        lowered = holder_language.lower()
        if lowered.startswith("zh"):
            return "zh-CN"
        if lowered.startswith("en"):
            return "en"
    return default


async def _open_letter(
    work: Work, decision: Decision, account: AccountRecord, stage_event: Any
) -> dict[str, Any]:
    dpd = stage_event.dpd if stage_event is not None else account.dpd
    overdue_since = account.oldest_unpaid_due_date or (work.today - timedelta(days=dpd))
    letter_id = new_id("LTR")
    await Letters(work.session).add(
        letter_id=letter_id,
        decision_key=decision.key,
        rule_id=decision.rule_id,
        account_id=decision.account_id,
        customer_id=decision.customer_id,
        language=letter_language(account.language, work.settings.letter_default_language),
        past_due_minor=account.past_due_minor,
        currency=account.currency or "CNY",
        dpd=dpd,
        overdue_since=overdue_since,
        issued_on=work.today,
        pay_by=work.today + timedelta(days=work.settings.letter_pay_within_days),
        by=work.actor,
    )
    work.count("demand_letter", "pending")
    return {"letter_id": letter_id}


async def _open_visit(work: Work, decision: Decision) -> dict[str, Any]:
    visit = visits.schedule(new_id("VIS"), decision.customer_id, decision.account_id)
    await Visits(work.session).add(visit, decision_key=decision.key, scheduled_on=work.today, by=work.actor)
    work.emit(
        EventTypes.VISIT_SCHEDULED,
        decision.account_id,
        VisitScheduled(
            visit_id=visit.visit_id,
            account_id=decision.account_id,
            customer_id=decision.customer_id,
            rule=decision.rule_id,
            scheduled_on=work.today,
        ),
    )
    work.count("home_visit", "scheduled")
    return {"visit_id": visit.visit_id}


async def _open_offer(work: Work, decision: Decision, account: AccountRecord) -> dict[str, Any]:
    if account.past_due_minor <= 0 or account.currency is None:
        work.count("restructuring_offer", "nothing_owed")
        return {"offered": False, "why": "nothing past due"}
    settings = work.settings
    instalments = min(
        settings.restructuring_default_instalments, settings.rules.restructuring.max_instalments
    )
    terms = Terms(
        outstanding_minor=account.past_due_minor,
        instalments=instalments,
        fee_minor=account.past_due_minor * settings.restructuring_fee_basis_points // 10_000,
        first_due_date=work.today + timedelta(days=settings.restructuring_first_due_days),
        currency=account.currency,
    )
    offer = restructuring.make_offer(
        new_id("OFR"),
        decision.account_id,
        decision.customer_id,
        terms,
        offered_on=work.today,
        settings=settings.rules.restructuring,
    )
    await store_offer(work, offer, decision_key=decision.key, rule_id=decision.rule_id)
    return {"offered": True, "offer_id": offer.offer_id}


async def store_offer(work: Work, offer: Offer, *, decision_key: str | None, rule_id: str) -> None:
    """Stores a new offer and emits ``collections.restructuring.offered``."""
    await Offers(work.session).add(offer, decision_key=decision_key, rule_id=rule_id, by=work.actor)
    terms = offer.terms
    work.emit(
        EventTypes.RESTRUCTURING_OFFERED,
        offer.account_id,
        RestructuringOffered(
            offer_id=offer.offer_id,
            account_id=offer.account_id,
            customer_id=offer.customer_id,
            rule=rule_id,
            total_minor=terms.total_minor,
            currency=terms.currency,
            instalments=terms.instalments,
            fee_reduction_minor=terms.fee_reduction_minor,
            expires_on=offer.expires_on,
        ),
    )
    work.count("restructuring_offer", "offered")
    count_on_commit(work.session, OFFERS.labels("made"))


def legal_reason(facts: Mapping[str, Any]) -> str:
    """Why the legal file opens, from the facts its rule used."""
    if "fraud_suspected" in tuple(facts.get("flags", ())):
        return "fraud_suspected"
    if "asset_transfer" in tuple(facts.get("signals", ())):
        return "asset_transfer"
    if "plan_id" in facts:
        return "restructuring_broken"
    if "past_due_minor" in facts or "debtor_past_due_minor" in facts:
        return "large_amount"
    return "rule"


async def _open_legal(work: Work, decision: Decision) -> dict[str, Any]:
    reason = legal_reason(decision.facts)
    opened = legal.open_file(
        new_id("LGL"),
        decision.account_id,
        decision.customer_id,
        rule_id=decision.rule_id,
        opened_on=work.today,
    )
    await LegalFiles(work.session).add(opened, decision_key=decision.key, reason=reason)
    work.emit(
        EventTypes.LEGAL_OPENED,
        decision.account_id,
        LegalOpened(
            legal_file_id=opened.file_id,
            account_id=decision.account_id,
            customer_id=decision.customer_id,
            rule=decision.rule_id,
            reason=reason,
            opened_on=work.today,
        ),
    )
    work.count("legal_file", "opened")
    return {"legal_file_id": opened.file_id, "reason": reason}


async def _open_bureau(work: Work, decision: Decision) -> dict[str, Any]:
    await BureauFlags(work.session).flag(
        decision_key=decision.key,
        rule_id=decision.rule_id,
        account_id=decision.account_id,
        customer_id=decision.customer_id,
        on=work.today,
    )
    work.emit(
        EventTypes.BUREAU_FLAGGED,
        decision.account_id,
        BureauFlagged(
            account_id=decision.account_id,
            customer_id=decision.customer_id,
            rule=decision.rule_id,
            as_of=work.today,
        ),
    )
    work.count("bureau_flag", "flagged")
    return {"flagged": True}


# -- placement -----------------------------------------------------------------------------------
def _contact_points(account: AccountRecord) -> list[ContactPoint]:
    points = [ContactPoint(kind="phone", value=phone) for phone in account.phones]
    if account.email:
        points.append(ContactPoint(kind="email", value=account.email))
    if account.address_known and account.address is not None:
        parts = [account.address.get(k) for k in ("line1", "city", "region", "postal_code", "country")]
        points.append(ContactPoint(kind="address", value=", ".join(str(p) for p in parts if p)))
    return points


async def place(
    work: Work, decision_key: str, rule_id: str, account_id: str, customer_id: str
) -> dict[str, Any]:
    """Allocates the debtor's case to an agency and stores the placement, explained. A debtor
    with a stop flag on any account (section 5) is not placed while it holds.

    The agency rows stay locked until the transaction ends, so concurrent placements count each
    other's committed placements and capacity holds.
    """
    placements = Placements(work.session)
    if await placements.active_of(customer_id) is not None:
        return {"placed": False, "why": "the debtor's case is already placed"}
    book = work.settings.rules
    debtor_accounts = await Accounts(work.session).of_debtor(customer_id)
    trigger = next((a for a in debtor_accounts if a.account_id == account_id), None)
    delinquent = [a for a in debtor_accounts if a.stage not in (None, book.cure_stage)]
    if trigger is None or not delinquent:
        return {"placed": False, "why": "no delinquent account"}
    stopped = sorted({flag for a in debtor_accounts for flag in a.flags & STOP_FLAGS})
    if stopped:
        work.count("agency_placement", "unplaced")
        return {"placed": False, "why": f"stop flags: {', '.join(stopped)}"}
    currency = trigger.currency or "CNY"
    same_currency = [a for a in delinquent if a.currency == currency]
    past_due = sum(a.past_due_minor for a in same_currency)
    agency_list = await Agencies(work.session).lock_all()
    window = book.placement.recovery_window_days
    history = await placements.since(work.today - timedelta(days=window))
    paid = await Payments(work.session).of_debtors(
        (p.customer_id for p in history), work.today - timedelta(days=window)
    )
    payment_records = [PaymentRecord(c, d, a) for c, d, a in paid]
    rates = {
        agency.agency_id: recovery_rate(
            agency.agency_id, history, payment_records, as_of=work.today, window_days=window
        )
        for agency in agency_list
    }
    allocation = allocate(
        customer_id=customer_id,
        account_ids=[a.account_id for a in same_currency],
        region=trigger.region,
        past_due_minor=past_due,
        agencies=agency_list,
        active=await placements.active_counts(work.today),
        rates=rates,
        today=work.today,
        settings=book.placement,
    )
    explained = [
        {
            "agency_id": c.agency_id,
            "refused": c.refused,
            "region_match": c.region_match,
            "spare": c.spare,
            "recovery_rate": None if c.recovery_rate is None else str(c.recovery_rate),
            "rate_used": str(c.rate_used),
            "lost_because": c.lost_because,
        }
        for c in allocation.candidates
    ]
    if allocation.agency_id is None:
        work.count("agency_placement", "unplaced")
        return {"placed": False, "why": "no agency can take the case", "candidates": explained}
    placement_id = new_id("PLC")
    await placements.add(
        placement_id=placement_id,
        decision_key=decision_key,
        rule_id=rule_id,
        agency_id=allocation.agency_id,
        customer_id=customer_id,
        account_id=account_id,
        placed_on=allocation.placed_on,
        ends_on=allocation.ends_on,
        past_due_at_placement_minor=past_due,
        currency=currency,
    )
    ranks = {stage: book.rank(stage) for stage in book.stages}
    worst = max(same_currency, key=lambda a: (ranks.get(a.stage or "", 0), a.dpd))
    work.emit(
        EventTypes.CASE_PLACED,
        account_id,
        CasePlaced(
            placement_id=placement_id,
            case_id=customer_id,
            account_id=account_id,
            customer_id=customer_id,
            agency_id=allocation.agency_id,
            rule=rule_id,
            placed_on=allocation.placed_on,
            ends_on=allocation.ends_on,
            stage=worst.stage or book.cure_stage,
            dpd=max(a.dpd for a in same_currency),
            past_due_minor=past_due,
            currency=currency,
            accounts=[
                CaseAccount(
                    account_id=a.account_id,
                    stage=a.stage or book.cure_stage,
                    dpd=a.dpd,
                    past_due_minor=a.past_due_minor,
                    currency=currency,
                )
                for a in same_currency
            ],
            debtor=PlacedDebtor(
                name=trigger.holder_name or "(unknown)",
                national_id_last4=trigger.national_id_last4,
                contact_points=_contact_points(trigger),
                region=trigger.region,
                language=trigger.language,
            ),
        ),
    )
    work.count("agency_placement", "placed")
    return {
        "placed": True,
        "placement_id": placement_id,
        "agency_id": allocation.agency_id,
        "candidates": explained,
    }


async def retry_unplaced(work: Work) -> int:
    """Tries again the placements no agency could take; returns how many are now placed."""
    decisions = Decisions(work.session)
    placed = 0
    for key, account_id, customer_id in await decisions.unplaced():
        await Accounts(work.session).lock_debtor(customer_id)
        rule_id = key.split(":", 1)[0]
        outcome = await place(work, key, rule_id, account_id, customer_id)
        if outcome.get("placed"):
            await decisions.set_outcome(key, outcome)
            placed += 1
    return placed


_EVENT_REASON: dict[str, EventRecallReason] = {
    "cure": "cure",
    "expiry": "expiry",
    "complaint": "complaint",
    "stop_flag": "stop_flag",
    "restructuring_agreed": "restructuring",
    "restructuring": "restructuring",
    "returned": "returned",
    "inactive": "inactive",
}


async def recall_placement(work: Work, row: Any, reason: str, *, on: date | None = None) -> None:
    """Recalls an active placement (its row) with ``reason`` and emits ``collections.case.recalled``."""
    when = on or work.today
    await Placements(work.session).mark_recalled(row.placement_id, on=when, reason=reason, by=work.actor)
    await Decisions(work.session).mark_closed(row.decision_key, by=f"recall:{reason}")
    event_reason = _EVENT_REASON[reason]
    work.emit(
        EventTypes.CASE_RECALLED,
        row.account_id,
        CaseRecalled(
            placement_id=row.placement_id,
            case_id=row.customer_id,
            account_id=row.account_id,
            customer_id=row.customer_id,
            agency_id=row.agency_id,
            reason=event_reason,
            recalled_on=when,
        ),
    )
    work.count("agency_placement", "recalled")
    count_on_commit(work.session, RECALLS.labels(event_reason))


# -- closing -------------------------------------------------------------------------------------
async def _close(work: Work, decision: Decision) -> dict[str, Any]:
    assert decision.closes is not None
    key = decision.closes
    reason = decision.reason or "cure"
    match decision.action:
        case "demand_letter":
            letters = Letters(work.session)
            letter = await letters.of_decision(key)
            if letter is not None and letter.status in ("pending", "failed"):
                await letters.set_status(letter.letter_id, "cancelled", by=work.actor, last_error=reason)
                work.count("demand_letter", "cancelled")
                return {"cancelled": letter.letter_id}
        case "home_visit":
            repo = Visits(work.session)
            row = await repo.of_decision(key)
            if row is not None and row.status not in ("completed", "cancelled"):
                await repo.save(visits.cancel(to_visit(row), reason), by=work.actor)
                work.count("home_visit", "cancelled")
                return {"cancelled": row.visit_id}
        case "restructuring_offer":
            offers = Offers(work.session)
            row = await offers.open_of_decision(key)
            if row is not None:
                await offers.answer(row.offer_id, status="withdrawn", on=work.today, by=work.actor)
                work.count("restructuring_offer", "withdrawn")
                return {"withdrawn": row.offer_id}
        case "agency_placement":
            placement = await Placements(work.session).active_of(decision.customer_id, lock=True)
            if placement is not None and placement.decision_key == key:
                await recall_placement(work, placement, reason)
                return {"recalled": placement.placement_id}
        case "bureau_flag":
            if await BureauFlags(work.session).clear(key, on=work.today, rule_id=decision.rule_id):
                work.emit(
                    EventTypes.BUREAU_CLEARED,
                    decision.account_id,
                    BureauCleared(
                        account_id=decision.account_id,
                        customer_id=decision.customer_id,
                        rule=decision.rule_id,
                        as_of=work.today,
                    ),
                )
                work.count("bureau_flag", "cleared")
                return {"cleared": True}
    return {"nothing_open": True}


# -- restructuring agreed ------------------------------------------------------------------------
async def agree(work: Work, agreement: Agreement) -> None:
    """Stores an accepted offer, emits ``collections.restructuring.agreed`` and recalls the
    debtor's placement (the plan stops collection)."""
    offer = agreement.offer
    await Offers(work.session).answer(
        offer.offer_id, status="accepted", on=agreement.agreed_on, by=work.actor
    )
    terms = offer.terms
    work.emit(
        EventTypes.RESTRUCTURING_AGREED,
        offer.account_id,
        RestructuringAgreed(
            offer_id=offer.offer_id,
            account_id=offer.account_id,
            customer_id=offer.customer_id,
            total_minor=terms.total_minor,
            currency=terms.currency,
            instalments=len(agreement.instalments),
            fee_reduction_minor=terms.fee_reduction_minor,
            schedule=[
                Instalment(due_date=i.due_date, amount_minor=i.amount_minor) for i in agreement.instalments
            ],
            agreed_at=datetime.now(UTC),
        ),
    )
    work.count("restructuring_offer", "accepted")
    count_on_commit(work.session, OFFERS.labels("accepted"))
    await Accounts(work.session).lock_debtor(offer.customer_id)
    placement = await Placements(work.session).active_of(offer.customer_id, lock=True)
    if placement is not None:
        await recall_placement(work, placement, agreement.recall_reason)


async def expire_offers(work: Work) -> int:
    """Records every open offer whose expiry date has passed as expired."""
    repo = Offers(work.session)
    lapsed = await repo.lapsed(work.today)
    for row in lapsed:
        expired = restructuring.expire(to_offer(row), work.today)
        assert expired.answered_on is not None
        await repo.answer(row.offer_id, status="expired", on=expired.answered_on, by=work.actor)
        work.count("restructuring_offer", "expired")
        count_on_commit(work.session, OFFERS.labels("expired"))
    return len(lapsed)


async def check_plans(work: Work) -> int:
    """Finds agreed plans an instalment of which was not covered in time; each is marked broken
    and evaluated as ``restructuring_broken`` (by default: a legal file). Returns how many broke."""
    repo = Offers(work.session)
    broken = 0
    for row in await repo.accepted():
        plan = to_offer(row)
        assert row.answered_on is not None
        paid = await Payments(work.session).of_account(row.account_id, row.answered_on)
        missed = restructuring.first_missed(restructuring.schedule(plan.terms), paid, as_of=work.today)
        if missed is None:
            continue
        await repo.mark_broken(row.offer_id)
        work.count("restructuring_offer", "broken")
        account = await Accounts(work.session).get(row.account_id)
        if account is not None:
            await evaluate_and_act(
                work,
                account,
                RestructuringBroken(plan_id=row.offer_id),
                cause_event_id=f"plan-broken:{row.offer_id}:instalment-{missed.number}",
            )
        broken += 1
    return broken

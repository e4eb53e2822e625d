"""One realistic event per type of the catalog (for the AsyncAPI document and the tests)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from ._base import EventData
from .agency import ActivityReported, AgencyRegistered, AgencyUpdated, CaseReturned, ReportedPromise
from .catalog import EventTypes, Topics, spec_of
from .contact import (
    ComplaintReceived,
    ContactAttempted,
    DebtorUnreachable,
    HardshipReported,
    HoldEnded,
    HoldSet,
    Party,
    PermitBlocked,
    PromiseBroken,
    PromiseKept,
    PromiseMade,
)
from .corebank import (
    AccountClosed,
    AccountOpened,
    AccountReaged,
    AccountUpdated,
    Address,
    BusinessDayClosed,
    Consents,
    Flags,
    Holder,
    PaymentPosted,
    PaymentReversed,
    Risk,
    StatementIssued,
)
from .delinquency import StageChanged
from .envelope import CloudEvent, new_event
from .escalation import (
    BureauCleared,
    BureauFlagged,
    CaseAccount,
    CasePlaced,
    CaseRecalled,
    ContactPoint,
    Instalment,
    LegalOpened,
    LetterIssued,
    PlacedDebtor,
    RestructuringAgreed,
    RestructuringOffered,
    VisitCompleted,
    VisitScheduled,
)

__all__ = ["EXAMPLE_DATA", "example_events"]

_ACCOUNT = "ACC-1"
_CUSTOMER = "CUS-1"
_AT = datetime(2026, 1, 27, 10, 30, tzinfo=UTC)
_BANK = Party(kind="bank")
_AGENCY = Party(kind="agency", id="AG-1")

EXAMPLE_DATA: tuple[EventData, ...] = (
    AccountOpened(
        account_id=_ACCOUNT,
        customer_id="CUS-1",
        currency="CNY",
        credit_limit_minor=5_000_000,
        opened_on=date(2025, 12, 1),
        holder=Holder(
            name="Li Lei",
            national_id="110101199001011234",
            phones=["+8613800000000"],
            email="li@example.com",
            address=Address(
                line1="1 Road",
                city="Beijing",
                region="BJ",
                postal_code="100000",
                country="CN",
            ),
            timezone="Asia/Shanghai",
            language="zh-CN",
        ),
        consents=Consents(sms=True, email=True, push=True, autodial=False),
    ),
    AccountUpdated(
        account_id=_ACCOUNT,
        holder=Holder(phones=["+8613900000000", "+8613800000000"]),
        consents=Consents(autodial=True),
        flags=Flags(hardship=True),
        risk=Risk(rating="C", signals=["multiple_lenders"]),
    ),
    AccountClosed(account_id=_ACCOUNT, closed_on=date(2026, 6, 30), reason="customer_request"),
    StatementIssued(
        account_id=_ACCOUNT,
        statement_id="S-2026-01",
        statement_date=date(2026, 1, 5),
        due_date=date(2026, 1, 25),
        statement_balance_minor=50_000,
        minimum_due_minor=10_000,
        currency="CNY",
    ),
    AccountReaged(
        account_id=_ACCOUNT,
        reage_id="R-1",
        effective_date=date(2026, 4, 1),
        reason="restructuring",
    ),
    PaymentPosted(
        account_id=_ACCOUNT,
        payment_id="P-1",
        amount_minor=10_000,
        currency="CNY",
        value_date=date(2026, 2, 25),
        channel="bank_transfer",
    ),
    PaymentReversed(account_id=_ACCOUNT, payment_id="P-1", reason="returned_by_bank"),
    BusinessDayClosed(business_date=date(2026, 1, 25)),
    StageChanged(
        account_id=_ACCOUNT,
        customer_id="CUS-1",
        from_stage="CURRENT",
        to_stage="M1",
        dpd=1,
        past_due_minor=10_000,
        oldest_unpaid_due_date=date(2026, 1, 25),
        as_of=date(2026, 1, 26),
        cause="day_close",
        cause_event_id="evt-0003",
        currency="CNY",
    ),
    ContactAttempted(
        permit_id="PRM-1",
        account_id=_ACCOUNT,
        customer_id=_CUSTOMER,
        channel="call",
        party=_BANK,
        outcome="promise_to_pay",
        at=_AT,
        recording_ref="rec-2026-01-27-0001",
        actor="collector-7",
    ),
    PermitBlocked(
        permit_id="PRM-2",
        account_id=_ACCOUNT,
        customer_id=_CUSTOMER,
        channel="sms",
        party=_AGENCY,
        pack="cn-seed",
        rule="daily_attempts",
        at=_AT,
        retry_after=datetime(2026, 1, 28, 0, 0, tzinfo=UTC),
    ),
    PromiseMade(
        promise_id="PTP-1",
        account_id=_ACCOUNT,
        customer_id=_CUSTOMER,
        amount_minor=10_000,
        currency="CNY",
        promised_date=date(2026, 2, 3),
        party=_BANK,
        made_at=_AT,
    ),
    PromiseKept(
        promise_id="PTP-1",
        account_id=_ACCOUNT,
        customer_id=_CUSTOMER,
        amount_minor=10_000,
        paid_minor=10_000,
        currency="CNY",
        promised_date=date(2026, 2, 3),
        as_of=date(2026, 2, 4),
    ),
    PromiseBroken(
        promise_id="PTP-2",
        account_id=_ACCOUNT,
        customer_id=_CUSTOMER,
        amount_minor=10_000,
        paid_minor=2_000,
        currency="CNY",
        promised_date=date(2026, 2, 3),
        as_of=date(2026, 2, 4),
    ),
    HardshipReported(
        account_id=_ACCOUNT, customer_id=_CUSTOMER, at=_AT, willing_to_pay=True, source="collector"
    ),
    HoldSet(
        hold_id="HLD-1",
        account_id=_ACCOUNT,
        customer_id=_CUSTOMER,
        reason="hospitalised",
        ends_on=date(2026, 3, 1),
        set_by="supervisor-2",
        at=_AT,
    ),
    HoldEnded(hold_id="HLD-1", account_id=_ACCOUNT, customer_id=_CUSTOMER, ended_on=date(2026, 3, 1), at=_AT),
    DebtorUnreachable(account_id=_ACCOUNT, customer_id=_CUSTOMER, at=_AT),
    ComplaintReceived(
        complaint_id="CMP-1",
        account_id=_ACCOUNT,
        customer_id=_CUSTOMER,
        against=_AGENCY,
        at=_AT,
        category="harassment",
    ),
    LetterIssued(
        letter_id="LTR-1",
        account_id=_ACCOUNT,
        customer_id=_CUSTOMER,
        rule="demand_letter_on_m3",
        language="zh-CN",
        past_due_minor=30_000,
        currency="CNY",
        issued_on=date(2026, 3, 27),
    ),
    VisitScheduled(
        visit_id="VIS-1",
        account_id=_ACCOUNT,
        customer_id=_CUSTOMER,
        rule="home_visit_on_m3",
        scheduled_on=date(2026, 4, 2),
    ),
    VisitCompleted(
        visit_id="VIS-1",
        account_id=_ACCOUNT,
        customer_id=_CUSTOMER,
        outcome="met_debtor",
        record_ref="visit-rec-0001",
        staff=["field-1", "field-2"],
        completed_at=_AT,
    ),
    RestructuringOffered(
        offer_id="OFF-1",
        account_id=_ACCOUNT,
        customer_id=_CUSTOMER,
        rule="restructuring_on_hardship",
        total_minor=120_000,
        currency="CNY",
        instalments=12,
        fee_reduction_minor=5_000,
        expires_on=date(2026, 4, 15),
    ),
    RestructuringAgreed(
        offer_id="OFF-1",
        account_id=_ACCOUNT,
        customer_id=_CUSTOMER,
        total_minor=20_000,
        currency="CNY",
        instalments=2,
        fee_reduction_minor=0,
        schedule=[
            Instalment(due_date=date(2026, 5, 1), amount_minor=10_000),
            Instalment(due_date=date(2026, 6, 1), amount_minor=10_000),
        ],
        agreed_at=_AT,
    ),
    CasePlaced(
        placement_id="PLC-1",
        case_id=_CUSTOMER,
        account_id=_ACCOUNT,
        customer_id=_CUSTOMER,
        agency_id="AG-1",
        rule="placement_on_m3plus",
        placed_on=date(2026, 4, 26),
        ends_on=date(2026, 7, 25),
        stage="M3+",
        dpd=91,
        past_due_minor=40_000,
        currency="CNY",
        accounts=[
            CaseAccount(account_id=_ACCOUNT, stage="M3+", dpd=91, past_due_minor=40_000, currency="CNY")
        ],
        debtor=PlacedDebtor(
            name="Li Lei",
            national_id_last4="1234",
            contact_points=[ContactPoint(kind="phone", value="+8613800000000")],
            region="BJ",
            language="zh-CN",
        ),
    ),
    CaseRecalled(
        placement_id="PLC-1",
        case_id=_CUSTOMER,
        account_id=_ACCOUNT,
        customer_id=_CUSTOMER,
        agency_id="AG-1",
        reason="cure",
        recalled_on=date(2026, 5, 3),
    ),
    LegalOpened(
        legal_file_id="LGL-1",
        account_id=_ACCOUNT,
        customer_id=_CUSTOMER,
        rule="legal_on_large_balance",
        reason="large_balance",
        opened_on=date(2026, 4, 26),
    ),
    BureauFlagged(
        account_id=_ACCOUNT, customer_id=_CUSTOMER, rule="bureau_on_m3plus", as_of=date(2026, 4, 26)
    ),
    BureauCleared(
        account_id=_ACCOUNT, customer_id=_CUSTOMER, rule="bureau_on_m3plus", as_of=date(2026, 5, 3)
    ),
    AgencyRegistered(
        agency_id="AG-1",
        name="North Recovery Ltd",
        regions=["BJ", "TJ"],
        capacity=500,
        active=True,
        contract_start=date(2026, 1, 1),
        contract_end=date(2027, 12, 31),
        review_due=date(2026, 12, 31),
    ),
    AgencyUpdated(
        agency_id="AG-1",
        name="North Recovery Ltd",
        regions=["BJ", "TJ", "HE"],
        capacity=800,
        active=True,
        contract_start=date(2026, 1, 1),
        contract_end=date(2027, 12, 31),
        review_due=date(2026, 12, 31),
    ),
    ActivityReported(
        activity_id="ACT-1",
        agency_id="AG-1",
        case_id=_CUSTOMER,
        placement_id="PLC-1",
        account_id=_ACCOUNT,
        customer_id=_CUSTOMER,
        kind="promise",
        at=_AT,
        channel="call",
        outcome="promise_to_pay",
        permit_id="PRM-3",
        promise=ReportedPromise(promised_date=date(2026, 5, 10), amount_minor=40_000, currency="CNY"),
    ),
    CaseReturned(
        agency_id="AG-1",
        case_id=_CUSTOMER,
        placement_id="PLC-1",
        account_id=_ACCOUNT,
        customer_id=_CUSTOMER,
        reason="debtor abroad",
        at=_AT,
    ),
)
"""One `data` per event type, in catalog order."""


def example_events() -> list[CloudEvent]:
    """The examples as events with fixed ids and times, so documents built from them are stable."""
    events = []
    for number, data in enumerate(EXAMPLE_DATA, start=1):
        spec = spec_of(type(data))
        is_calendar = spec.type == EventTypes.BUSINESS_DAY_CLOSED
        events.append(
            new_event(
                spec.type,
                _source_of(spec.topic),
                "calendar" if is_calendar else _ACCOUNT,
                data,
                id=f"00000000-0000-4000-8000-{number:012d}",
                time=datetime(2026, 1, 25, 16, 0, tzinfo=UTC),
            )
        )
    return events


def _source_of(topic: str) -> str:
    """The service that publishes on ``topic`` (DOMAIN.md section 8: `source` names the service)."""
    return {
        Topics.DELINQUENCY: "aging",
        Topics.CONTACT: "contact",
        Topics.ESCALATION: "escalation",
        Topics.AGENCY: "agency-gateway",
    }.get(topic, "corebank")

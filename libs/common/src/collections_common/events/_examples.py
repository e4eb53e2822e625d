"""One realistic event per type of the catalog (for the AsyncAPI document and the tests)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from ._base import EventData
from .catalog import EventTypes, spec_of
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

__all__ = ["EXAMPLE_DATA", "example_events"]

_ACCOUNT = "ACC-1"

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
                "aging" if spec.type == EventTypes.STAGE_CHANGED else "corebank",
                "calendar" if is_calendar else _ACCOUNT,
                data,
                id=f"00000000-0000-4000-8000-{number:012d}",
                time=datetime(2026, 1, 25, 16, 0, tzinfo=UTC),
            )
        )
    return events

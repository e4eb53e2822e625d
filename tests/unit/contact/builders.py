"""Small builders for the contact domain's tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from contact_service.domain.compliance import DebtorFacts, Hold, PermitRecord
from contact_service.domain.contact import Channel, ContactPoint, Outcome, Owner, Party

PHONE = "+8613800000001"
PHONE_2 = "+8613800000002"
EMAIL = "debtor@example.com"
GUARANTOR = "+8613900000009"
THIRD = "+8613700000007"
BANK = Party()


def local(
    zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """A wall-clock time in ``zone`` (first occurrence when ambiguous)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=ZoneInfo(zone))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def facts(
    zone: str = "Asia/Shanghai",
    *,
    flags: Sequence[str] = (),
    holds: Sequence[Hold] = (),
    consents: dict[str, bool] | None = None,
    unreachable: bool = False,
    points: Sequence[ContactPoint] | None = None,
) -> DebtorFacts:
    return DebtorFacts(
        customer_id="C1",
        timezone=zone,
        contact_points=tuple(
            points
            if points is not None
            else (
                ContactPoint(PHONE),
                ContactPoint(PHONE_2),
                ContactPoint(EMAIL),
                ContactPoint(GUARANTOR, Owner.GUARANTOR),
                ContactPoint(THIRD, Owner.THIRD_PARTY),
            )
        ),
        flags=frozenset(flags),
        holds=tuple(holds),
        consents=consents
        if consents is not None
        else {"sms": True, "email": True, "push": True, "autodial": True},
        unreachable=unreachable,
    )


def permit(
    at: datetime,
    channel: Channel = Channel.CALL,
    outcome: Outcome | None = Outcome.NO_ANSWER,
    *,
    point: str = PHONE,
    account: str = "A1",
    party: Party = BANK,
    hold: timedelta = timedelta(minutes=15),
) -> PermitRecord:
    return PermitRecord(
        account_id=account,
        channel=channel,
        contact_point=point,
        at=at,
        expires_at=at + hold,
        outcome=outcome,
        party=party,
    )


def at_local(zone: str, day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, tzinfo=ZoneInfo(zone))

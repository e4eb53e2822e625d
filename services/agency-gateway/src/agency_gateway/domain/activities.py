"""What an agency reports on a case (DOMAIN.md section 7), the rules a report must keep, and the
compliance rule a reported contact broke, if any: such a contact is kept as a fact and flagged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from agency_gateway.domain.errors import InvalidReport

ActivityKind = Literal["contact", "visit", "promise", "payment_arranged"]
CONTACT_KINDS = frozenset({"contact", "visit"})
CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future a reported time may be (the agency's clock against ours)."""


@dataclass(frozen=True)
class ReportedPayment:
    """A promise to pay, or a payment the agency arranged: a date and an amount."""

    promised_date: date
    amount_minor: int
    currency: str


@dataclass(frozen=True)
class Report:
    kind: ActivityKind
    at: datetime
    channel: str | None = None
    outcome: str | None = None
    permit_id: str | None = None
    promise: ReportedPayment | None = None


@dataclass(frozen=True)
class PermitOnFile:
    """A permit this gateway asked for on the case, and what the contact service decided."""

    permit_id: str
    channel: str
    allowed: bool
    requested_at: datetime
    expires_at: datetime | None


def check_report(report: Report, *, placed_on: date, now: datetime) -> None:
    """Raise InvalidReport naming the first rule ``report`` breaks."""
    if report.at.tzinfo is None:
        raise InvalidReport("at must carry a UTC offset")
    if report.at > now + CLOCK_SKEW:
        raise InvalidReport("at must not be in the future")
    if report.at.astimezone().date() < placed_on - timedelta(days=1):
        raise InvalidReport("at must not be before the case was placed with the agency")
    if report.kind == "contact":
        if report.channel is None:
            raise InvalidReport("a contact names its channel")
        if report.channel == "visit":
            raise InvalidReport("a visit is reported with kind 'visit'")
        if report.outcome is None:
            raise InvalidReport("a contact names its outcome")
        if report.outcome == "promise_to_pay" and report.promise is None:
            raise InvalidReport("a contact with outcome promise_to_pay carries the promise")
    elif report.kind == "visit":
        if report.channel not in (None, "visit"):
            raise InvalidReport("a visit's channel is 'visit'")
        if report.outcome is None:
            raise InvalidReport("a visit names its outcome")
    else:
        if report.promise is None:
            raise InvalidReport(f"a {report.kind} report carries the promise (date and amount)")
    if report.promise is not None and report.promise.promised_date < report.at.date() - timedelta(days=1):
        raise InvalidReport("promise.promised_date must not be before the activity")


def violation_of(report: Report, permit: PermitOnFile | None) -> str | None:
    """The rule a reported contact or visit broke, or None; other reports break none."""
    if report.kind not in CONTACT_KINDS:
        return None
    if report.permit_id is None:
        return "no_permit"
    if permit is None:
        return "unknown_permit"
    if not permit.allowed:
        return "permit_refused"
    channel = "visit" if report.kind == "visit" else report.channel
    if channel != permit.channel:
        return "channel_mismatch"
    if report.at < permit.requested_at - CLOCK_SKEW or (
        permit.expires_at is not None and report.at > permit.expires_at
    ):
        return "outside_permit_window"
    return None

"""One compliance policy for the bank and every agency (DOMAIN.md section 5).

``decide`` is pure: from a rule pack, the debtor's facts, a permit request and the debtor's
allowed permits and inbound contacts around the request, it answers allowed (with the
permit's expiry) or refused (with the rule, a reason naming the rule and, when known, the
next time it could be allowed). To make the decision an atomic reservation the caller locks
``lock_key(customer_id)`` for the transaction, loads the history inside ``history_window``,
decides, and stores an allowed permit before it commits.

Shared definitions applied here: hours bind every channel but the pack's exempt ones, the end
exclusive; an attempt is any allowed permit; ``ivr`` and ``call`` are call attempts; a permit
without an outcome is pending until it expires (possibly connected and possibly unanswered),
then ``unknown`` (unanswered); a Reg F conversation is a connected ``call`` or an inbound call
and bars calls about its account for the rest of its local day and the days after; limits
count every channel and every party together. Rules are checked in the order of ``Rule``;
the first that refuses decides.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from contact_service.domain.contact import (
    ADDRESS,
    CALL_CHANNELS,
    CONNECTED,
    STOP_FLAGS,
    UNANSWERED,
    Channel,
    ContactPoint,
    Outcome,
    Owner,
    Party,
    Purpose,
)
from contact_service.domain.localtime import (
    local_day,
    next_within_hours,
    require_aware,
    start_of_day,
    within_hours,
)
from contact_service.domain.packs import RulePack, ThirdParties

__all__ = [
    "HARDSHIP_FLAG",
    "Allowed",
    "ContactHistory",
    "DebtorFacts",
    "Decision",
    "Hold",
    "InboundContact",
    "PermitRecord",
    "PermitRequest",
    "Refused",
    "Rule",
    "account_lock_key",
    "decide",
    "history_window",
    "lock_key",
]

#: The account flag that puts the debtor on a hardship hold with no end date.
HARDSHIP_FLAG = "hardship"


class Rule(StrEnum):
    """Stable codes of the rules a refusal names, in the order they are checked."""

    STOP_FLAG = "stop_flag"
    HARDSHIP_HOLD = "hardship_hold"
    CONTACT_POINT_UNKNOWN = "contact_point_unknown"
    THIRD_PARTY = "third_party"
    CONSENT = "consent"
    HOURS = "hours"
    DAILY_ATTEMPTS = "daily_attempts"
    UNANSWERED_CALLS = "unanswered_calls"
    CONNECTED_CALLS = "connected_calls"
    ROLLING_CALLS = "rolling_calls"
    CONVERSATION_BAR = "conversation_bar"

    @property
    def reason(self) -> str:
        """A sentence naming the rule, never the values it was applied to."""
        return _REASONS[self]


_REASONS: Mapping[Rule, str] = {
    Rule.STOP_FLAG: "a stop flag on one of the debtor's accounts forbids every contact",
    Rule.HARDSHIP_HOLD: "the debtor is on a hardship hold",
    Rule.CONTACT_POINT_UNKNOWN: "the contact point is not one of the debtor's known contact points",
    Rule.THIRD_PARTY: "this pack allows no contact with this third party for this purpose",
    Rule.CONSENT: "the debtor has not consented to this channel",
    Rule.HOURS: "outside the allowed contact hours in the debtor's local time",
    Rule.DAILY_ATTEMPTS: "the debtor's contact attempts for the local day are used up",
    Rule.UNANSWERED_CALLS: "the unanswered call attempts to this number for the local day are used up",
    Rule.CONNECTED_CALLS: "the debtor's connected calls for the local day are used up",
    Rule.ROLLING_CALLS: "the account's call attempts for the rolling window of days are used up",
    Rule.CONVERSATION_BAR: "a telephone conversation about the account bars calls for the following days",
}


@dataclass(frozen=True, slots=True)
class Hold:
    """A hardship hold (forbearance): a reason and an end date (inclusive; ``None``: until lifted)."""

    reason: str
    ends_on: date | None = None
    starts_on: date | None = None

    def active_on(self, day: date) -> bool:
        """Whether the hold covers the local ``day``."""
        started = self.starts_on is None or self.starts_on <= day
        return started and (self.ends_on is None or day <= self.ends_on)


@dataclass(frozen=True, slots=True)
class DebtorFacts:
    """What the policy needs to know about the debtor (``customer_id``).

    ``flags`` are the account flags set on any of the debtor's accounts; ``consents`` maps
    ``sms``, ``email``, ``push`` and ``autodial`` to what the debtor said (a missing one was
    never asked); ``unreachable`` is the debtor's unreachable status (``reachability``).
    """

    customer_id: str
    timezone: str
    contact_points: Sequence[ContactPoint] = ()
    flags: frozenset[str] = frozenset()
    holds: Sequence[Hold] = ()
    consents: Mapping[str, bool] = field(default_factory=dict)
    unreachable: bool = False

    @property
    def zone(self) -> ZoneInfo:
        """The debtor's IANA timezone; an unknown name is a ValueError."""
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("the debtor's timezone is not a known IANA name") from exc


@dataclass(frozen=True, slots=True)
class PermitRequest:
    """A contact someone wants to make; ``autodialled`` defaults to true for ``ivr`` only."""

    account_id: str
    channel: Channel
    contact_point: str
    at: datetime
    party: Party = Party()
    autodialled: bool | None = None
    purpose: Purpose = Purpose.COLLECT

    @property
    def is_autodialled(self) -> bool:
        """Whether the contact is made by an automated dialler."""
        return self.channel is Channel.IVR if self.autodialled is None else self.autodialled


@dataclass(frozen=True, slots=True)
class PermitRecord:
    """An allowed permit (an attempt) and its outcome (``None`` while none was reported)."""

    account_id: str
    channel: Channel
    contact_point: str
    at: datetime
    expires_at: datetime
    outcome: Outcome | None = None
    party: Party = Party()

    def outcome_as_of(self, now: datetime) -> Outcome | None:
        """The reported outcome; without one, ``None`` (pending) before expiry, ``unknown`` after."""
        if self.outcome is not None:
            return self.outcome
        return None if now < self.expires_at else Outcome.UNKNOWN


@dataclass(frozen=True, slots=True)
class InboundContact:
    """A contact the debtor made: a conversation, never an attempt."""

    account_id: str
    channel: Channel
    contact_point: str
    at: datetime
    outcome: Outcome = Outcome.REACHED


@dataclass(frozen=True, slots=True)
class ContactHistory:
    """The debtor's allowed permits and inbound contacts (any order, any span)."""

    permits: Sequence[PermitRecord] = ()
    inbound: Sequence[InboundContact] = ()


@dataclass(frozen=True, slots=True)
class Allowed:
    """The contact may be made; its slot is held until ``expires_at`` or its outcome."""

    expires_at: datetime
    allowed: Literal[True] = True


@dataclass(frozen=True, slots=True)
class Refused:
    """The contact may not be made; ``retry_after`` is the next time it could be, when known."""

    rule: Rule
    retry_after: datetime | None = None
    allowed: Literal[False] = False

    @property
    def reason(self) -> str:
        """The rule's sentence."""
        return self.rule.reason


Decision = Allowed | Refused


def lock_key(customer_id: str) -> int:
    """A stable signed 64-bit key for the debtor's lock (e.g. ``pg_advisory_xact_lock``)."""
    digest = hashlib.blake2b(f"contact-permit:{customer_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def account_lock_key(account_id: str) -> int:
    """A stable signed 64-bit key for an account's lock, apart from the debtors' (``lock_key``)."""
    digest = hashlib.blake2b(f"contact-account:{account_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def history_window(pack: RulePack, facts: DebtorFacts, at: datetime) -> tuple[datetime, datetime]:
    """``[start, end)``: the permits and inbound contacts (by their ``at``) a decision at ``at`` reads."""
    tz = facts.zone
    day = local_day(at, tz)
    span = timedelta(days=pack.lookback_days)
    return start_of_day(day - span, tz), start_of_day(day + span + timedelta(days=1), tz)


def decide(pack: RulePack, facts: DebtorFacts, request: PermitRequest, history: ContactHistory) -> Decision:
    """The decision on ``request`` under ``pack`` (see the module docstring)."""
    at = require_aware(request.at, "request.at")
    tz = facts.zone
    day = local_day(at, tz)
    refusal = (
        _stop_flags(facts)
        or _holds(pack, facts, day, tz)
        or _who(pack, facts, request)
        or _consent(pack, facts, request)
        or _hours(pack, request, tz)
        or _limits(pack, request, history, day, tz)
    )
    return refusal if refusal is not None else Allowed(expires_at=at + pack.permit_hold)


def _opens(pack: RulePack, day: date, tz: ZoneInfo) -> datetime:
    """The first allowed instant of ``day`` or later."""
    return next_within_hours(start_of_day(day, tz), pack.hours.start, pack.hours.end, tz)


def _stop_flags(facts: DebtorFacts) -> Refused | None:
    return Refused(Rule.STOP_FLAG) if facts.flags & STOP_FLAGS else None


def _holds(pack: RulePack, facts: DebtorFacts, day: date, tz: ZoneInfo) -> Refused | None:
    active = [hold for hold in facts.holds if hold.active_on(day)]
    if HARDSHIP_FLAG in facts.flags:
        active.append(Hold(reason=HARDSHIP_FLAG))
    if not active:
        return None
    ends = [hold.ends_on for hold in active]
    if any(end is None for end in ends):
        return Refused(Rule.HARDSHIP_HOLD)
    last = max(end for end in ends if end is not None)
    # Another hold may start the day after; the retry is when this one ends, as far as known.
    return Refused(Rule.HARDSHIP_HOLD, _opens(pack, last + timedelta(days=1), tz))


def _who(pack: RulePack, facts: DebtorFacts, request: PermitRequest) -> Refused | None:
    if request.contact_point == ADDRESS:
        owner = Owner.DEBTOR
    else:
        owners = {point.owner for point in facts.contact_points if point.value == request.contact_point}
        if not owners:
            return Refused(Rule.CONTACT_POINT_UNKNOWN)
        # A point recorded for several owners is as restricted as its most restricted owner.
        owner = Owner.THIRD_PARTY if Owner.THIRD_PARTY in owners else min(owners)
    if owner is not Owner.THIRD_PARTY:
        return None
    if (
        pack.third_parties is ThirdParties.LOCATE_WHEN_UNREACHABLE
        and facts.unreachable
        and request.purpose is Purpose.LOCATE
    ):
        return None
    return Refused(Rule.THIRD_PARTY)


def _consent_needed(request: PermitRequest) -> str | None:
    if request.channel in (Channel.SMS, Channel.EMAIL, Channel.PUSH):
        return request.channel.value
    if request.channel in CALL_CHANNELS and request.is_autodialled:
        return "autodial"
    return None


def _consent(pack: RulePack, facts: DebtorFacts, request: PermitRequest) -> Refused | None:
    consent = _consent_needed(request)
    if consent is None:
        return None
    given = facts.consents.get(consent)
    if given is False or (consent in pack.required_consents and given is not True):
        return Refused(Rule.CONSENT)
    return None


def _hours(pack: RulePack, request: PermitRequest, tz: ZoneInfo) -> Refused | None:
    hours = pack.hours
    if request.channel in hours.exempt or within_hours(request.at, hours.start, hours.end, tz):
        return None
    return Refused(Rule.HOURS, next_within_hours(request.at, hours.start, hours.end, tz))


def _limits(
    pack: RulePack, request: PermitRequest, history: ContactHistory, day: date, tz: ZoneInfo
) -> Refused | None:
    permits = [(permit, local_day(permit.at, tz)) for permit in history.permits]
    next_day = _opens(pack, day + timedelta(days=1), tz)
    today = [permit for permit, permit_day in permits if permit_day == day]
    if pack.daily_attempts is not None and len(today) >= pack.daily_attempts.max_attempts:
        return Refused(Rule.DAILY_ATTEMPTS, next_day)
    if request.channel not in CALL_CHANNELS:
        return None
    calls_today = [permit for permit in today if permit.channel in CALL_CHANNELS]
    at = request.at
    if pack.unanswered_calls is not None:
        unanswered = [
            permit
            for permit in calls_today
            if permit.contact_point == request.contact_point and _possibly(permit, at, UNANSWERED)
        ]
        if len(unanswered) >= pack.unanswered_calls.max_unanswered:
            return Refused(Rule.UNANSWERED_CALLS, next_day)
    if pack.connected_calls is not None:
        connected = [permit for permit in calls_today if _possibly(permit, at, CONNECTED)]
        if len(connected) >= pack.connected_calls.max_connected:
            return Refused(Rule.CONNECTED_CALLS, next_day)
    account_calls = [
        (permit, permit_day)
        for permit, permit_day in permits
        if permit.account_id == request.account_id and permit.channel in CALL_CHANNELS
    ]
    return _rolling(pack, account_calls, day, tz) or _conversations(
        pack, request, account_calls, history.inbound, day, tz
    )


def _possibly(permit: PermitRecord, now: datetime, outcomes: frozenset[Outcome]) -> bool:
    """Whether ``permit`` has, or may still get, one of ``outcomes`` (pending counts as both kinds)."""
    outcome = permit.outcome_as_of(now)
    return outcome is None or outcome in outcomes


def _rolling(
    pack: RulePack, account_calls: Sequence[tuple[PermitRecord, date]], day: date, tz: ZoneInfo
) -> Refused | None:
    limit = pack.rolling_calls
    if limit is None:
        return None
    per_day: dict[date, int] = {}
    for _permit, permit_day in account_calls:
        per_day[permit_day] = per_day.get(permit_day, 0) + 1

    def fits(candidate: date) -> bool:
        # Every window of ``limit.days`` days containing ``candidate`` must have room for one more.
        for first in _days(candidate - timedelta(days=limit.days - 1), limit.days):
            if sum(per_day.get(d, 0) for d in _days(first, limit.days)) >= limit.max_calls:
                return False
        return True

    if fits(day):
        return None
    # Days after the last recorded call always fit, so the search ends.
    candidate = day + timedelta(days=1)
    while not fits(candidate):
        candidate += timedelta(days=1)
    return Refused(Rule.ROLLING_CALLS, _opens(pack, candidate, tz))


def _days(first: date, count: int) -> Iterable[date]:
    return (first + timedelta(days=offset) for offset in range(count))


def _conversations(
    pack: RulePack,
    request: PermitRequest,
    account_calls: Sequence[tuple[PermitRecord, date]],
    inbound: Sequence[InboundContact],
    day: date,
    tz: ZoneInfo,
) -> Refused | None:
    bar = pack.conversation_bar
    if bar is None:
        return None
    at = request.at
    span = timedelta(days=bar.days - 1)
    # Conversations (possible ones included) at or before the request whose bar covers its day.
    bar_ends = [
        permit_day + span
        for permit, permit_day in account_calls
        if permit.channel is Channel.CALL
        and permit.at <= at
        and day <= permit_day + span
        and _possibly(permit, at, CONNECTED)
    ]
    bar_ends += [
        local_day(contact.at, tz) + span
        for contact in inbound
        if contact.account_id == request.account_id
        and contact.channel in CALL_CHANNELS
        and contact.at <= at
        and day <= local_day(contact.at, tz) + span
    ]
    if bar_ends:
        return Refused(Rule.CONVERSATION_BAR, _opens(pack, max(bar_ends) + timedelta(days=1), tz))
    # A call requested before calls already allowed could itself become a conversation that
    # bars them: refuse it when any of them falls inside the bar it would start.
    if request.channel is Channel.CALL and any(
        permit.at >= at and permit_day <= day + span for permit, permit_day in account_calls
    ):
        return Refused(Rule.CONVERSATION_BAR)
    return None

"""A deliberately naive checker of stored contact decisions, written from DOMAIN.md section 5.

It shares nothing with the policy but the vocabulary (channels, outcomes) and the pack's
numbers: it walks every stored attempt and every pair of attempts by brute force and counts
each violation of the text:

- hours: every channel but ``letter`` between the start and the end of the hours, local time,
  the end exclusive;
- stop flags and hardship holds block everything; withheld consents block their channel;
  under ``us-regf`` autodialled calls and SMS need consent;
- who: only the debtor's and guarantor's points; under ``cn-2026`` a third party only when the
  debtor is unreachable and only to locate them;
- ``cn-seed``: at most N attempts a local day, every channel and party counted;
- ``cn-2026``: at most N unanswered call attempts a local day per number, at most M connected
  calls a local day;
- ``us-regf``: at most N call attempts per account in any D consecutive local days; after a
  conversation (a connected ``call``, or an inbound call) no call about the account for the
  rest of its local day and the days after, the conversation day counting as day 1.

An attempt whose outcome was never reported is ``unknown`` (unanswered).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from contact_service.domain.compliance import DebtorFacts, InboundContact, PermitRequest
from contact_service.domain.contact import Outcome
from contact_service.domain.packs import RulePack

CALLS = ("ivr", "call")
CONNECTED_WORDS = ("reached", "refused", "promise_to_pay", "hardship_reported")
UNANSWERED_WORDS = ("no_answer", "busy", "voicemail", "unknown")
STOPS = ("do_not_contact", "dispute", "bankruptcy", "deceased", "legal_representation")


@dataclass(frozen=True)
class Stored:
    """One allowed request as stored, with its final outcome (``None``: never reported)."""

    request: PermitRequest
    outcome: Outcome | None


def _local(at: datetime, zone: str) -> datetime:
    return at.astimezone(ZoneInfo(zone))


def _day(at: datetime, zone: str) -> date:
    return _local(at, zone).date()


def _outcome(stored: Stored) -> str:
    return "unknown" if stored.outcome is None else stored.outcome.value


def count_violations(
    pack: RulePack, debtor: DebtorFacts, stored: Sequence[Stored], inbound: Sequence[InboundContact]
) -> dict[str, int]:
    """Violations by rule name (only rules with at least one)."""
    zone = debtor.timezone
    found: dict[str, int] = {}

    def violation(rule: str) -> None:
        found[rule] = found.get(rule, 0) + 1

    owners = {point.value: point.owner.value for point in debtor.contact_points}
    for item in stored:
        request = item.request
        channel = request.channel.value
        clock = _local(request.at, zone)
        seconds = clock.hour * 3600 + clock.minute * 60 + clock.second + clock.microsecond / 1e6
        start = pack.hours.start.hour * 3600 + pack.hours.start.minute * 60
        end = pack.hours.end.hour * 3600 + pack.hours.end.minute * 60
        if channel != "letter" and not (start <= seconds < end):
            violation("hours")
        if any(flag in debtor.flags for flag in STOPS):
            violation("stop_flag")
        if "hardship" in debtor.flags:
            violation("hold")
        for hold in debtor.holds:
            day = clock.date()
            if (hold.starts_on is None or hold.starts_on <= day) and (
                hold.ends_on is None or day <= hold.ends_on
            ):
                violation("hold")
        autodialled = request.autodialled if request.autodialled is not None else channel == "ivr"
        consent = channel if channel in ("sms", "email", "push") else None
        if channel in CALLS and autodialled:
            consent = "autodial"
        if consent is not None:
            given = debtor.consents.get(consent)
            if given is False:
                violation("consent")
            if pack.name == "us-regf" and consent in ("sms", "autodial") and given is not True:
                violation("consent")
        owner = "debtor" if request.contact_point == "address" else owners.get(request.contact_point)
        if owner is None:
            violation("who")
        if owner == "third_party":
            may = pack.name == "cn-2026" and debtor.unreachable and request.purpose.value == "locate"
            if not may:
                violation("who")

    if pack.daily_attempts is not None:
        days = [_day(item.request.at, zone) for item in stored]
        for day in set(days):
            if days.count(day) > pack.daily_attempts.max_attempts:
                violation("daily_attempts")

    calls = [item for item in stored if item.request.channel.value in CALLS]
    if pack.unanswered_calls is not None:
        keys = [
            (_day(item.request.at, zone), item.request.contact_point)
            for item in calls
            if _outcome(item) in UNANSWERED_WORDS
        ]
        for key in set(keys):
            if keys.count(key) > pack.unanswered_calls.max_unanswered:
                violation("unanswered_calls")
    if pack.connected_calls is not None:
        days = [_day(item.request.at, zone) for item in calls if _outcome(item) in CONNECTED_WORDS]
        for day in set(days):
            if days.count(day) > pack.connected_calls.max_connected:
                violation("connected_calls")

    if pack.rolling_calls is not None:
        width = pack.rolling_calls.days
        for first in calls:
            account = first.request.account_id
            window_start = _day(first.request.at, zone).toordinal()
            # Every window that starts on the day of some call is enough to find any overfull one.
            inside = [
                other
                for other in calls
                if other.request.account_id == account
                and window_start <= _day(other.request.at, zone).toordinal() < window_start + width
            ]
            if len(inside) > pack.rolling_calls.max_calls:
                violation("rolling_calls")

    if pack.conversation_bar is not None:
        width = pack.conversation_bar.days
        conversations = [
            (item.request.account_id, item.request.at)
            for item in calls
            if item.request.channel.value == "call" and _outcome(item) in CONNECTED_WORDS
        ]
        conversations += [
            (contact.account_id, contact.at) for contact in inbound if contact.channel.value in CALLS
        ]
        for account, talked_at in conversations:
            talked_day = _day(talked_at, zone).toordinal()
            for item in calls:
                later = item.request.at > talked_at
                call_day = _day(item.request.at, zone).toordinal()
                if item.request.account_id == account and later and call_day - talked_day < width:
                    violation("conversation_bar")
    return found

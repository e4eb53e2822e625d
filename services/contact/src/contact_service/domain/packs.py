"""The compliance rule packs of DOMAIN.md section 5, as data: every number is configuration.

``cn-seed`` (default; seeds 000 and 002), ``cn-2026`` (CN banking association guideline,
GB/T 45251-2025) and ``us-regf`` (12 CFR 1006). A pack leaves a rule out with ``None``.
Change a number with ``dataclasses.replace`` (``replace(CN_SEED, daily_attempts=...)``);
every pack validates itself on construction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time, timedelta
from enum import StrEnum

from contact_service.domain.contact import Channel

__all__ = [
    "CN_2026",
    "CN_SEED",
    "DEFAULT_PACK",
    "PACKS",
    "US_REGF",
    "ConnectedCallLimit",
    "ContactHours",
    "ConversationBar",
    "DailyAttemptLimit",
    "InvalidPack",
    "RollingCallLimit",
    "RulePack",
    "ThirdParties",
    "UnansweredCallLimit",
    "pack_named",
]


class InvalidPack(ValueError):
    """A rule pack whose numbers cannot work (a limit below 1, hours that never open, ...)."""


def _positive(value: int, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidPack(f"{name} must be a positive integer")


@dataclass(frozen=True, slots=True)
class ContactHours:
    """The debtor's local hours ``[start, end)``; ``exempt`` channels are not bound by them."""

    start: time = time(8)
    end: time = time(21)
    exempt: frozenset[Channel] = frozenset({Channel.LETTER})

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise InvalidPack("contact hours are wall-clock times without a timezone")
        if not self.start < self.end:
            raise InvalidPack("contact hours must start before they end")


@dataclass(frozen=True, slots=True)
class DailyAttemptLimit:
    """At most ``max_attempts`` attempts per debtor per local day, every channel counted."""

    max_attempts: int = 3

    def __post_init__(self) -> None:
        _positive(self.max_attempts, "daily attempts")


@dataclass(frozen=True, slots=True)
class UnansweredCallLimit:
    """At most ``max_unanswered`` unanswered call attempts per phone number per local day."""

    max_unanswered: int = 6

    def __post_init__(self) -> None:
        _positive(self.max_unanswered, "unanswered calls")


@dataclass(frozen=True, slots=True)
class ConnectedCallLimit:
    """At most ``max_connected`` connected call attempts per debtor per local day."""

    max_connected: int = 3

    def __post_init__(self) -> None:
        _positive(self.max_connected, "connected calls")


@dataclass(frozen=True, slots=True)
class RollingCallLimit:
    """At most ``max_calls`` call attempts per account in any ``days`` consecutive local days."""

    max_calls: int = 7
    days: int = 7

    def __post_init__(self) -> None:
        _positive(self.max_calls, "rolling calls")
        _positive(self.days, "rolling call days")


@dataclass(frozen=True, slots=True)
class ConversationBar:
    """No call about an account for ``days`` local days after a conversation (its day is day 1)."""

    days: int = 7

    def __post_init__(self) -> None:
        _positive(self.days, "conversation bar days")


class ThirdParties(StrEnum):
    """When a third party's contact point may be contacted."""

    NEVER = "never"
    LOCATE_WHEN_UNREACHABLE = "locate_when_unreachable"


@dataclass(frozen=True, slots=True)
class RulePack:
    """One compliance policy: hours, limits, who may be contacted and which consents are needed.

    Consents (``sms``, ``email``, ``push``, ``autodial``) are honoured in every pack: one the
    debtor withheld blocks its channel; those in ``required_consents`` must have been given.
    ``permit_hold`` is how long an allowed permit waits for
    its outcome before it counts as ``unknown``.
    """

    name: str
    hours: ContactHours = ContactHours()
    daily_attempts: DailyAttemptLimit | None = None
    unanswered_calls: UnansweredCallLimit | None = None
    connected_calls: ConnectedCallLimit | None = None
    rolling_calls: RollingCallLimit | None = None
    conversation_bar: ConversationBar | None = None
    third_parties: ThirdParties = ThirdParties.NEVER
    required_consents: frozenset[str] = frozenset()
    permit_hold: timedelta = timedelta(minutes=15)
    retention_years: int = 2
    unreachable_after: int = 3

    def __post_init__(self) -> None:
        if not self.name:
            raise InvalidPack("a pack needs a name")
        if self.permit_hold <= timedelta(0):
            raise InvalidPack("the permit hold must be positive")
        _positive(self.retention_years, "retention years")
        _positive(self.unreachable_after, "unreachable after")

    @property
    def lookback_days(self) -> int:
        """How many local days before and after a request's day its decision reads."""
        spans = [0]
        if self.rolling_calls is not None:
            spans.append(self.rolling_calls.days - 1)
        if self.conversation_bar is not None:
            spans.append(self.conversation_bar.days - 1)
        return max(spans)


CN_SEED = RulePack(
    name="cn-seed",
    hours=ContactHours(time(8), time(21)),
    daily_attempts=DailyAttemptLimit(3),
    third_parties=ThirdParties.NEVER,
    retention_years=2,
)

CN_2026 = RulePack(
    name="cn-2026",
    hours=ContactHours(time(8), time(22)),
    unanswered_calls=UnansweredCallLimit(6),
    connected_calls=ConnectedCallLimit(3),
    third_parties=ThirdParties.LOCATE_WHEN_UNREACHABLE,
    retention_years=2,
)

US_REGF = RulePack(
    name="us-regf",
    hours=ContactHours(time(8), time(21)),
    rolling_calls=RollingCallLimit(7, 7),
    conversation_bar=ConversationBar(7),
    third_parties=ThirdParties.NEVER,
    required_consents=frozenset({"sms", "autodial"}),
    retention_years=3,
)

PACKS: Mapping[str, RulePack] = {pack.name: pack for pack in (CN_SEED, CN_2026, US_REGF)}
DEFAULT_PACK = CN_SEED


def pack_named(name: str) -> RulePack:
    """The built-in pack called ``name``; an unknown name is an InvalidPack naming the choices."""
    try:
        return PACKS[name]
    except KeyError:
        raise InvalidPack(f"unknown compliance pack; choose one of {sorted(PACKS)}") from None

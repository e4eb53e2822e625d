"""The case is the debtor (DOMAIN.md section 5): one case per ``customer_id`` across their accounts.

A case rolls up its accounts' stages (the worst one) and past-due amounts (summed per
currency), takes the debtor's profile (timezone, language, contact points, consents) from
the latest ``account.opened``/``updated`` of any account, and keeps each account's flags: a
stop flag on any account stops the debtor. ``apply`` folds one fact into a case and says
whether it cancels the debtor's pending contacts and call tasks, and why: a cure (the case
returns to the first stage), a stop flag or the hardship flag being set, a hardship hold, or
an agreed restructuring.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum

from contact_service.domain.compliance import HARDSHIP_FLAG, DebtorFacts, Hold
from contact_service.domain.contact import STOP_FLAGS, ContactPoint, Owner

__all__ = [
    "CORE_BANKING",
    "DEFAULT_STAGES",
    "AccountFacts",
    "AccountStage",
    "Cancellation",
    "CancelReason",
    "Case",
    "CaseFact",
    "CaseUpdate",
    "HoldEnded",
    "HoldSet",
    "Profile",
    "RestructuringAgreed",
    "StageChanged",
    "apply",
]

#: Stages from best to worst (DOMAIN.md section 2); configurable per call.
DEFAULT_STAGES: tuple[str, ...] = ("CURRENT", "M1", "M2", "M3", "M3+")
#: The source of contact points that come from core banking's account events.
CORE_BANKING = "core_banking"


class CancelReason(StrEnum):
    """Why every pending contact and call task of a debtor is cancelled."""

    CURED = "cured"
    STOP_FLAG = "stop_flag"
    HARDSHIP_HOLD = "hardship_hold"
    RESTRUCTURING = "restructuring"


@dataclass(frozen=True, slots=True)
class Cancellation:
    """Cancel all pending contacts and call tasks of the debtor; ``detail`` names the flag or hold."""

    reason: CancelReason
    detail: str = ""


@dataclass(frozen=True, slots=True)
class StageChanged:
    """An account's stage and figures (``collections.stage.changed``)."""

    account_id: str
    customer_id: str
    to_stage: str
    dpd: int
    past_due_minor: int
    currency: str
    as_of: date


@dataclass(frozen=True, slots=True)
class AccountFacts:
    """What an ``account.opened``/``updated`` says; ``None`` or a missing key: not said."""

    account_id: str
    customer_id: str
    at: datetime
    timezone: str | None = None
    language: str | None = None
    phones: Sequence[str] | None = None
    email: str | None = None
    consents: Mapping[str, bool] = field(default_factory=dict)
    flags: Mapping[str, bool] = field(default_factory=dict)
    risk_rating: str | None = None
    signals: Sequence[str] | None = None


@dataclass(frozen=True, slots=True)
class HoldSet:
    """A supervisor put the debtor on a hardship hold."""

    hold: Hold


@dataclass(frozen=True, slots=True)
class HoldEnded:
    """A supervisor ended the debtor's holds with this reason."""

    reason: str


@dataclass(frozen=True, slots=True)
class RestructuringAgreed:
    """A restructuring of an account was agreed (e.g. ``account.reaged``)."""

    account_id: str
    effective_date: date


@dataclass(frozen=True, slots=True)
class AccountStage:
    """An account's latest stage and figures."""

    stage: str
    dpd: int
    past_due_minor: int
    currency: str
    as_of: date


@dataclass(frozen=True, slots=True)
class Profile:
    """The debtor's profile, as of the latest account event that said something (``as_of``)."""

    timezone: str = "UTC"
    language: str = "zh-CN"
    contact_points: tuple[ContactPoint, ...] = ()
    consents: Mapping[str, bool] = field(default_factory=dict)
    risk_rating: str | None = None
    signals: frozenset[str] = frozenset()
    as_of: datetime | None = None


@dataclass(frozen=True, slots=True)
class Case:
    """One debtor's case."""

    customer_id: str
    stages: tuple[str, ...] = DEFAULT_STAGES
    accounts: Mapping[str, AccountStage] = field(default_factory=dict)
    account_flags: Mapping[str, Mapping[str, bool]] = field(default_factory=dict)
    profile: Profile = Profile()
    holds: tuple[Hold, ...] = ()

    @property
    def stage(self) -> str:
        """The worst stage across the accounts (the first stage when none is delinquent)."""
        ranks = [self._rank(account.stage) for account in self.accounts.values()]
        return self.stages[max(ranks, default=0)]

    @property
    def past_due_minor(self) -> Mapping[str, int]:
        """Total past due per currency, over every account."""
        totals: dict[str, int] = {}
        for account in self.accounts.values():
            totals[account.currency] = totals.get(account.currency, 0) + account.past_due_minor
        return totals

    @property
    def max_dpd(self) -> int:
        """The largest DPD across the accounts."""
        return max((account.dpd for account in self.accounts.values()), default=0)

    @property
    def flags(self) -> frozenset[str]:
        """Every flag set on any of the debtor's accounts."""
        return frozenset(name for flags in self.account_flags.values() for name, on in flags.items() if on)

    @property
    def stopped(self) -> bool:
        """Whether a stop flag on any account stops the debtor."""
        return bool(self.flags & STOP_FLAGS)

    def compliance_facts(self, *, unreachable: bool = False) -> DebtorFacts:
        """What the compliance policy needs to know about this debtor."""
        return DebtorFacts(
            customer_id=self.customer_id,
            timezone=self.profile.timezone,
            contact_points=self.profile.contact_points,
            flags=self.flags,
            holds=self.holds,
            consents=self.profile.consents,
            unreachable=unreachable,
        )

    def _rank(self, stage: str) -> int:
        try:
            return self.stages.index(stage)
        except ValueError:
            raise ValueError("a stage the case's stage order does not name") from None


@dataclass(frozen=True, slots=True)
class CaseUpdate:
    """The case after a fact, and the cancellation it causes, if any."""

    case: Case
    cancellation: Cancellation | None = None


CaseFact = StageChanged | AccountFacts | HoldSet | HoldEnded | RestructuringAgreed


def apply(case: Case, fact: CaseFact) -> CaseUpdate:
    """Fold ``fact`` into ``case``."""
    if isinstance(fact, StageChanged):
        return _stage_changed(case, fact)
    if isinstance(fact, AccountFacts):
        return _account_facts(case, fact)
    if isinstance(fact, HoldSet):
        held = replace(case, holds=(*case.holds, fact.hold))
        return CaseUpdate(held, Cancellation(CancelReason.HARDSHIP_HOLD, fact.hold.reason))
    if isinstance(fact, HoldEnded):
        return CaseUpdate(replace(case, holds=tuple(h for h in case.holds if h.reason != fact.reason)))
    return CaseUpdate(case, Cancellation(CancelReason.RESTRUCTURING, fact.account_id))


def _stage_changed(case: Case, fact: StageChanged) -> CaseUpdate:
    if fact.customer_id != case.customer_id:
        raise ValueError("a stage change of another debtor's account")
    case._rank(fact.to_stage)
    previous = case.accounts.get(fact.account_id)
    if previous is not None and fact.as_of < previous.as_of:
        return CaseUpdate(case)  # an older assessment changes nothing
    account = AccountStage(fact.to_stage, fact.dpd, fact.past_due_minor, fact.currency, fact.as_of)
    after = replace(case, accounts={**case.accounts, fact.account_id: account})
    cured = case.stage != case.stages[0] and after.stage == after.stages[0]
    return CaseUpdate(after, Cancellation(CancelReason.CURED) if cured else None)


def _account_facts(case: Case, fact: AccountFacts) -> CaseUpdate:
    if fact.customer_id != case.customer_id:
        raise ValueError("account facts of another debtor")
    flags = {**case.account_flags.get(fact.account_id, {}), **fact.flags}
    after = replace(
        case,
        account_flags={**case.account_flags, fact.account_id: flags},
        profile=_profile(case.profile, fact),
    )
    newly = after.flags - case.flags
    stops = sorted(newly & STOP_FLAGS)
    if stops:
        return CaseUpdate(after, Cancellation(CancelReason.STOP_FLAG, ",".join(stops)))
    if HARDSHIP_FLAG in newly:
        return CaseUpdate(after, Cancellation(CancelReason.HARDSHIP_HOLD, HARDSHIP_FLAG))
    return CaseUpdate(after)


def _profile(profile: Profile, fact: AccountFacts) -> Profile:
    """The profile with what ``fact`` says, unless a later account event already said it."""
    if profile.as_of is not None and fact.at < profile.as_of:
        return profile
    points = profile.contact_points
    if fact.phones is not None or fact.email is not None:
        kept = [p for p in points if not (p.owner is Owner.DEBTOR and p.source == CORE_BANKING)]
        phones = fact.phones if fact.phones is not None else _core_points(points, emails=False)
        emails = [fact.email] if fact.email is not None else _core_points(points, emails=True)
        fresh = [ContactPoint(value, Owner.DEBTOR, CORE_BANKING) for value in (*phones, *emails)]
        points = (*fresh, *(p for p in kept if p.value not in {f.value for f in fresh}))
    return Profile(
        timezone=fact.timezone or profile.timezone,
        language=fact.language or profile.language,
        contact_points=tuple(points),
        consents={**profile.consents, **fact.consents},
        risk_rating=fact.risk_rating or profile.risk_rating,
        signals=frozenset(fact.signals) if fact.signals is not None else profile.signals,
        as_of=fact.at,
    )


def _core_points(points: Sequence[ContactPoint], *, emails: bool) -> list[str]:
    """Values of core banking's debtor points: the e-mail addresses, or the others (phones)."""
    return [
        p.value
        for p in points
        if p.owner is Owner.DEBTOR and p.source == CORE_BANKING and ("@" in p.value) == emails
    ]

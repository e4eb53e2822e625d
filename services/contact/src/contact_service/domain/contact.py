"""The vocabulary of contacts (DOMAIN.md section 5): channels, outcomes, parties, contact points."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "ADDRESS",
    "CALL_CHANNELS",
    "CONNECTED",
    "STOP_FLAGS",
    "UNANSWERED",
    "Channel",
    "ContactPoint",
    "Outcome",
    "Owner",
    "Party",
    "PartyKind",
    "Purpose",
]


class Channel(StrEnum):
    """How a contact is made."""

    SMS = "sms"
    EMAIL = "email"
    PUSH = "push"
    IVR = "ivr"
    CALL = "call"
    VISIT = "visit"
    LETTER = "letter"


#: ``ivr`` and ``call`` are call attempts.
CALL_CHANNELS: frozenset[Channel] = frozenset({Channel.IVR, Channel.CALL})


class Outcome(StrEnum):
    """What an attempt led to; ``unknown`` is an allowed permit whose outcome never came."""

    NO_ANSWER = "no_answer"
    BUSY = "busy"
    VOICEMAIL = "voicemail"
    REACHED = "reached"
    WRONG_NUMBER = "wrong_number"
    REFUSED = "refused"
    PROMISE_TO_PAY = "promise_to_pay"
    HARDSHIP_REPORTED = "hardship_reported"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    UNKNOWN = "unknown"


#: Connected outcomes (a person was talked to).
CONNECTED: frozenset[Outcome] = frozenset(
    {Outcome.REACHED, Outcome.REFUSED, Outcome.PROMISE_TO_PAY, Outcome.HARDSHIP_REPORTED}
)
#: Unanswered outcomes; ``wrong_number`` is neither connected nor unanswered.
UNANSWERED: frozenset[Outcome] = frozenset(
    {Outcome.NO_ANSWER, Outcome.BUSY, Outcome.VOICEMAIL, Outcome.UNKNOWN}
)

#: Account flags that stop every contact with the debtor.
STOP_FLAGS: frozenset[str] = frozenset(
    {"do_not_contact", "dispute", "bankruptcy", "deceased", "legal_representation"}
)

#: The contact point of visits and letters: the debtor's address on record.
ADDRESS = "address"


class Owner(StrEnum):
    """Whose contact point it is."""

    DEBTOR = "debtor"
    GUARANTOR = "guarantor"
    THIRD_PARTY = "third_party"


class Purpose(StrEnum):
    """Why a contact is made."""

    COLLECT = "collect"
    LOCATE = "locate"


class PartyKind(StrEnum):
    """Who makes the contact."""

    BANK = "bank"
    AGENCY = "agency"


@dataclass(frozen=True, slots=True)
class Party:
    """The bank, or one of its agencies (``id`` names the agency)."""

    kind: PartyKind = PartyKind.BANK
    id: str | None = None

    def __post_init__(self) -> None:
        if (self.kind is PartyKind.AGENCY) != (self.id is not None):
            raise ValueError("an agency party has an id; the bank has none")


@dataclass(frozen=True, slots=True)
class ContactPoint:
    """A phone number (E.164), an e-mail address or ``address``, and whose it is."""

    value: str
    owner: Owner = Owner.DEBTOR
    source: str = "core_banking"

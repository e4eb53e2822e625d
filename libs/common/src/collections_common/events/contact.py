"""`data` of the events the contact service publishes on `collections.contact.v1` (DOMAIN.md
section 5). Each carries the `account_id` it concerns and the debtor's `customer_id`; none
carries a contact point's value (a phone number, an address): events travel further than the
personal data may.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ._base import Currency, EventData, Identifier, IsoDate, MinorAmount, Omittable, PositiveMinorAmount, Text
from .envelope import Rfc3339DateTime

__all__ = [
    "Channel",
    "ComplaintReceived",
    "ContactAttempted",
    "ContactOutcome",
    "DebtorUnreachable",
    "HardshipReported",
    "HoldEnded",
    "HoldSet",
    "Party",
    "PermitBlocked",
    "PromiseBroken",
    "PromiseKept",
    "PromiseMade",
]

Channel = Literal["sms", "email", "push", "ivr", "call", "visit", "letter"]
ContactOutcome = Literal[
    "no_answer",
    "busy",
    "voicemail",
    "reached",
    "wrong_number",
    "refused",
    "promise_to_pay",
    "hardship_reported",
    "sent",
    "delivered",
    "failed",
    "unknown",
]
"""Section 5's outcomes; `unknown` is a permit whose outcome was not reported in time."""


class Party(EventData):
    """Who contacts the debtor: the bank, or one of its agencies (`id`)."""

    kind: Literal["bank", "agency"]
    id: Omittable[Identifier] = None


class ContactAttempted(EventData):
    """`collections.contact.attempted`: an allowed contact took place, with its outcome."""

    permit_id: Identifier
    account_id: Identifier
    customer_id: Identifier
    channel: Channel
    party: Party
    outcome: ContactOutcome
    at: Rfc3339DateTime
    inbound: Annotated[bool, Field(description="the debtor made the contact")] = False
    recording_ref: Omittable[Text] = None
    actor: Omittable[Annotated[Text, Field(description="the staff member or client who reported it")]] = None


class PermitBlocked(EventData):
    """`collections.permit.blocked`: the compliance policy refused a contact."""

    permit_id: Identifier
    account_id: Identifier
    customer_id: Identifier
    channel: Channel
    party: Party
    pack: Annotated[str, Field(min_length=1, max_length=32, description="cn-seed, cn-2026 or us-regf")]
    rule: Annotated[str, Field(min_length=1, max_length=64)]
    at: Rfc3339DateTime
    retry_after: Omittable[Rfc3339DateTime] = None


class PromiseMade(EventData):
    """`collections.promise.made`: the debtor promised to pay an amount by a date."""

    promise_id: Identifier
    account_id: Identifier
    customer_id: Identifier
    amount_minor: PositiveMinorAmount
    currency: Currency
    promised_date: IsoDate
    party: Party
    made_at: Rfc3339DateTime


class PromiseKept(EventData):
    """`collections.promise.kept`: payments not reversed covered the promise by its date."""

    promise_id: Identifier
    account_id: Identifier
    customer_id: Identifier
    amount_minor: PositiveMinorAmount
    paid_minor: MinorAmount
    currency: Currency
    promised_date: IsoDate
    as_of: IsoDate


class PromiseBroken(EventData):
    """`collections.promise.broken`: at the close of its date the promise was not covered."""

    promise_id: Identifier
    account_id: Identifier
    customer_id: Identifier
    amount_minor: PositiveMinorAmount
    paid_minor: MinorAmount
    currency: Currency
    promised_date: IsoDate
    as_of: IsoDate


class HardshipReported(EventData):
    """`collections.hardship.reported`: the debtor reported hardship (a call, an agency, a flag)."""

    account_id: Identifier
    customer_id: Identifier
    at: Rfc3339DateTime
    willing_to_pay: bool
    source: Literal["collector", "agency", "flag", "inbound"]
    party: Omittable[Party] = None


class HoldSet(EventData):
    """`collections.hold.set`: contact with the debtor is on hold (forbearance) until `ends_on`."""

    hold_id: Identifier
    account_id: Identifier
    customer_id: Identifier
    reason: Annotated[Text, Field(min_length=1, max_length=500)]
    ends_on: IsoDate
    set_by: Annotated[Text, Field(min_length=1, max_length=255)]
    at: Rfc3339DateTime


class HoldEnded(EventData):
    """`collections.hold.ended`: a hold ended (its date came, or a supervisor lifted it)."""

    hold_id: Identifier
    account_id: Identifier
    customer_id: Identifier
    ended_on: IsoDate
    at: Rfc3339DateTime


class DebtorUnreachable(EventData):
    """`collections.debtor.unreachable`: every known contact point failed too often (a risk signal)."""

    account_id: Identifier
    customer_id: Identifier
    at: Rfc3339DateTime


class ComplaintReceived(EventData):
    """`collections.complaint.received`: the debtor complained about a party's collection."""

    complaint_id: Identifier
    account_id: Identifier
    customer_id: Identifier
    against: Party
    at: Rfc3339DateTime
    category: Annotated[str, Field(min_length=1, max_length=64)]

"""`data` of the events the escalation service publishes on `collections.escalation.v1`
(DOMAIN.md section 6). Each names the rule that decided it, the `account_id` whose change caused
it and the debtor's `customer_id`. `case.placed` carries what the agency gateway needs to show an
agency its case, and no more personal data than the agency needs.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ._base import Currency, EventData, Identifier, IsoDate, MinorAmount, Omittable, Text
from .envelope import Rfc3339DateTime

__all__ = [
    "BureauCleared",
    "BureauFlagged",
    "CaseAccount",
    "CasePlaced",
    "CaseRecalled",
    "ContactPoint",
    "Instalment",
    "LegalOpened",
    "LetterIssued",
    "PlacedDebtor",
    "RecallReason",
    "RestructuringAgreed",
    "RestructuringOffered",
    "VisitCompleted",
    "VisitScheduled",
]

RuleName = Annotated[str, Field(min_length=1, max_length=64, description="the rule that decided it")]
RecallReason = Literal["cure", "expiry", "complaint", "stop_flag", "restructuring", "returned", "inactive"]


class LetterIssued(EventData):
    """`collections.letter.issued`: a demand letter (催收函) was issued to the debtor."""

    letter_id: Identifier
    account_id: Identifier
    customer_id: Identifier
    rule: RuleName
    language: Annotated[str, Field(min_length=2, max_length=16)]
    past_due_minor: MinorAmount
    currency: Currency
    issued_on: IsoDate


class VisitScheduled(EventData):
    """`collections.visit.scheduled`: a home visit is to be prepared and arranged (seed 003)."""

    visit_id: Identifier
    account_id: Identifier
    customer_id: Identifier
    rule: RuleName
    scheduled_on: IsoDate


class VisitCompleted(EventData):
    """`collections.visit.completed`: two field staff made the visit and recorded it."""

    visit_id: Identifier
    account_id: Identifier
    customer_id: Identifier
    outcome: Annotated[str, Field(min_length=1, max_length=64)]
    record_ref: Annotated[Text, Field(min_length=1, max_length=255)]
    staff: Annotated[list[Identifier], Field(min_length=2)]
    completed_at: Rfc3339DateTime


class RestructuringOffered(EventData):
    """`collections.restructuring.offered`: a restructuring offer was made to the debtor."""

    offer_id: Identifier
    account_id: Identifier
    customer_id: Identifier
    rule: RuleName
    total_minor: MinorAmount
    currency: Currency
    instalments: Annotated[int, Field(ge=1, le=60)]
    fee_reduction_minor: MinorAmount = 0
    expires_on: IsoDate


class Instalment(EventData):
    """One instalment of an agreed plan."""

    due_date: IsoDate
    amount_minor: MinorAmount


class RestructuringAgreed(EventData):
    """`collections.restructuring.agreed`: the debtor accepted; core banking answers with
    `corebank.account.reaged`. While the plan holds, collection contact stops."""

    offer_id: Identifier
    account_id: Identifier
    customer_id: Identifier
    total_minor: MinorAmount
    currency: Currency
    instalments: Annotated[int, Field(ge=1, le=60)]
    fee_reduction_minor: MinorAmount = 0
    schedule: Annotated[list[Instalment], Field(min_length=1, max_length=60)]
    agreed_at: Rfc3339DateTime


class ContactPoint(EventData):
    """A contact point an agency may use: a phone, an e-mail address or the postal address."""

    kind: Literal["phone", "email", "address"]
    value: Annotated[Text, Field(min_length=1, max_length=500)]


class PlacedDebtor(EventData):
    """What an agency may know of the debtor: the name, the national ID's last four characters,
    the contact points it may use, the region, the language."""

    name: Annotated[Text, Field(min_length=1, max_length=255)]
    national_id_last4: Omittable[Annotated[str, Field(min_length=1, max_length=4)]] = None
    contact_points: list[ContactPoint]
    region: Omittable[Annotated[Text, Field(max_length=64)]] = None
    language: Omittable[Annotated[str, Field(max_length=16)]] = None


class CaseAccount(EventData):
    """One delinquent account of a placed case."""

    account_id: Identifier
    stage: Annotated[str, Field(min_length=1, max_length=32)]
    dpd: Annotated[int, Field(ge=0)]
    past_due_minor: MinorAmount
    currency: Currency


class CasePlaced(EventData):
    """`collections.case.placed`: the debtor's case is placed with an agency until `ends_on`."""

    placement_id: Identifier
    case_id: Annotated[Identifier, Field(description="the debtor's case: one per customer")]
    account_id: Identifier
    customer_id: Identifier
    agency_id: Identifier
    rule: RuleName
    placed_on: IsoDate
    ends_on: IsoDate
    stage: Annotated[str, Field(min_length=1, max_length=32, description="the worst stage of the case")]
    dpd: Annotated[int, Field(ge=0)]
    past_due_minor: MinorAmount
    currency: Currency
    accounts: Annotated[list[CaseAccount], Field(min_length=1)]
    debtor: PlacedDebtor


class CaseRecalled(EventData):
    """`collections.case.recalled`: the agency's placement ends now; it loses access at once."""

    placement_id: Identifier
    case_id: Identifier
    account_id: Identifier
    customer_id: Identifier
    agency_id: Identifier
    reason: RecallReason
    recalled_on: IsoDate


class LegalOpened(EventData):
    """`collections.legal.opened`: a legal file was opened (large, fraud, wilful, broken plan)."""

    legal_file_id: Identifier
    account_id: Identifier
    customer_id: Identifier
    rule: RuleName
    reason: Annotated[str, Field(min_length=1, max_length=64)]
    opened_on: IsoDate


class BureauFlagged(EventData):
    """`collections.bureau.flagged`: the account is marked for a negative credit-bureau report."""

    account_id: Identifier
    customer_id: Identifier
    rule: RuleName
    as_of: IsoDate


class BureauCleared(EventData):
    """`collections.bureau.cleared`: the mark is cleared (the account cured)."""

    account_id: Identifier
    customer_id: Identifier
    rule: RuleName
    as_of: IsoDate

"""`data` of the events the agency gateway publishes on `collections.agency.v1` (DOMAIN.md
section 7): the agency registry (the escalation service places cases from its copy of it) and
what agencies report about their cases. Registry events are keyed by `agency_id`; reports by
the case's `customer_id`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ._base import Currency, EventData, Identifier, IsoDate, Omittable, PositiveMinorAmount, Text
from .contact import Channel, ContactOutcome
from .envelope import Rfc3339DateTime

__all__ = [
    "ActivityKind",
    "ActivityReported",
    "AgencyRegistered",
    "AgencyUpdated",
    "CaseReturned",
    "ReportedPromise",
]

Region = Annotated[str, Field(min_length=1, max_length=64)]


class AgencyRegistered(EventData):
    """`collections.agency.registered`: a vetted agency joined the registry (its whole record)."""

    agency_id: Identifier
    name: Annotated[Text, Field(min_length=1, max_length=255)]
    regions: list[Region]
    capacity: Annotated[int, Field(ge=0, description="cases it may hold at once")]
    active: bool
    contract_start: IsoDate
    contract_end: IsoDate
    review_due: Annotated[IsoDate, Field(description="its annual review; past it, no new cases")]


class AgencyUpdated(EventData):
    """`collections.agency.updated`: the agency's record as it now stands (reviewed, deactivated...)."""

    agency_id: Identifier
    name: Annotated[Text, Field(min_length=1, max_length=255)]
    regions: list[Region]
    capacity: Annotated[int, Field(ge=0)]
    active: bool
    contract_start: IsoDate
    contract_end: IsoDate
    review_due: IsoDate


ActivityKind = Literal["contact", "visit", "promise", "payment_arranged"]


class ReportedPromise(EventData):
    """A promise to pay an agency reports."""

    promised_date: IsoDate
    amount_minor: PositiveMinorAmount
    currency: Currency


class ActivityReported(EventData):
    """`collections.agency.activity.reported`: an agency reported what it did on a case. A reported
    contact that broke a compliance rule is kept as a fact, with the rule in `violation`."""

    activity_id: Identifier
    agency_id: Identifier
    case_id: Identifier
    placement_id: Identifier
    account_id: Identifier
    customer_id: Identifier
    kind: ActivityKind
    at: Rfc3339DateTime
    channel: Omittable[Channel] = None
    outcome: Omittable[ContactOutcome] = None
    permit_id: Omittable[Identifier] = None
    promise: Omittable[ReportedPromise] = None
    violation: Omittable[Annotated[str, Field(min_length=1, max_length=64)]] = None


class CaseReturned(EventData):
    """`collections.agency.case.returned`: the agency gave the case back before its end."""

    agency_id: Identifier
    case_id: Identifier
    placement_id: Identifier
    account_id: Identifier
    customer_id: Identifier
    reason: Annotated[Text, Field(min_length=1, max_length=500)]
    at: Rfc3339DateTime

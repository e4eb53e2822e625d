"""Request and response bodies of the contact API (DOMAIN.md section 5)."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from collections_common.events._base import PRINTABLE_PATTERN
from contact_service.domain.contact import Channel, Owner, Purpose

Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=PRINTABLE_PATTERN)]
ContactPointValue = Annotated[
    str,
    Field(
        min_length=1, max_length=320, pattern=PRINTABLE_PATTERN, description="E.164, an e-mail, or `address`"
    ),
]
ReportedOutcome = Literal[
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
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartyIn(_In):
    """The bank, or an agency (with its id)."""

    kind: Literal["bank", "agency"] = "bank"
    id: Identifier | None = None

    @model_validator(mode="after")
    def _agency_has_id(self) -> PartyIn:
        if (self.kind == "agency") != (self.id is not None):
            raise ValueError("an agency party has an id; the bank has none")
        return self


class PartyPublic(BaseModel):
    kind: str
    id: str | None = None


class PermitCreate(_In):
    """A contact someone wants to make."""

    account_id: Identifier
    channel: Channel
    contact_point: ContactPointValue
    party: PartyIn = PartyIn()
    autodialled: bool | None = Field(default=None, description="default: true for ivr, false otherwise")
    purpose: Purpose = Purpose.COLLECT
    at: AwareDatetime | None = Field(default=None, description="RFC 3339; default now")


class PermitPublic(BaseModel):
    """A recorded decision, and the outcome reported for it."""

    permit_id: str
    customer_id: str
    account_id: str
    channel: str
    party: PartyPublic
    at: datetime
    allowed: bool
    expires_at: datetime | None = None
    rule: str | None = None
    reason: str | None = None
    retry_after: datetime | None = None
    outcome: str | None = Field(
        default=None, description="null while pending; `unknown` once expired without one"
    )
    outcome_at: datetime | None = None
    recording_ref: str | None = None


class PromiseDetails(_In):
    date: dt.date
    amount_minor: Annotated[int, Field(gt=0, le=10**15)]


class OutcomeDetails(BaseModel):
    model_config = ConfigDict(extra="allow")

    promise: PromiseDetails | None = None
    willing_to_pay: bool | None = None


class OutcomeCreate(_In):
    """What came of an allowed contact."""

    outcome: ReportedOutcome
    at: AwareDatetime | None = None
    recording_ref: Annotated[str, Field(min_length=1, max_length=500, pattern=PRINTABLE_PATTERN)] | None = (
        None
    )
    details: OutcomeDetails | None = None

    def details_dict(self) -> dict[str, Any] | None:
        return self.details.model_dump(mode="json", exclude_none=True) if self.details is not None else None


class InboundCreate(_In):
    """A contact the debtor made."""

    account_id: Identifier
    channel: Channel
    contact_point: ContactPointValue
    at: AwareDatetime
    outcome: Literal["reached", "refused", "promise_to_pay", "hardship_reported"] = "reached"


class InboundPublic(BaseModel):
    contact_id: str
    customer_id: str
    account_id: str
    channel: str
    at: datetime
    outcome: str


class ContactPointCreate(_In):
    value: ContactPointValue
    owner: Owner = Owner.DEBTOR
    source: Annotated[str, Field(min_length=1, max_length=64, pattern=PRINTABLE_PATTERN)]


class ContactPointPublic(BaseModel):
    value: str = Field(description="masked")
    owner: str
    source: str


class AccountPublic(BaseModel):
    account_id: str
    stage: str | None
    dpd: int
    past_due_minor: int
    currency: str | None
    flags: list[str]


class HoldCreate(_In):
    reason: Annotated[str, Field(min_length=1, max_length=500, pattern=PRINTABLE_PATTERN)]
    ends_on: date
    starts_on: date | None = None
    account_id: Identifier | None = Field(default=None, description="default: the case's first account")


class HoldPublic(BaseModel):
    hold_id: str
    account_id: str
    reason: str
    starts_on: date | None
    ends_on: date
    set_by: str
    set_at: datetime
    ended_on: date | None
    ended_by: str | None


class PromisePublic(BaseModel):
    promise_id: str
    account_id: str
    amount_minor: int
    currency: str
    made_on: date
    due_on: date
    status: str
    paid_minor: int


class PlannedPublic(BaseModel):
    id: int
    channel: str
    stage: str
    template: str
    due_at: datetime
    status: str
    next_try_at: datetime
    cancel_reason: str | None


class ContactPublic(BaseModel):
    """One entry of the contact history: a decision and its outcome (contact point masked)."""

    permit_id: str
    account_id: str
    channel: str
    contact_point: str
    party: PartyPublic
    at: datetime
    allowed: bool
    rule: str | None
    outcome: str | None
    recording_ref: str | None
    requested_by: str | None


class ContactsPublic(BaseModel):
    items: list[ContactPublic]
    next_cursor: str | None


class CasePublic(BaseModel):
    """The debtor's case."""

    customer_id: str
    stage: str
    max_dpd: int
    past_due_minor: dict[str, int]
    timezone: str
    language: str
    unreachable: bool
    risk_rating: str | None
    signals: list[str]
    flags: list[str]
    accounts: list[AccountPublic]
    contact_points: list[ContactPointPublic]
    holds: list[HoldPublic]
    promises: list[PromisePublic]
    planned: list[PlannedPublic]
    inbound: list[InboundPublic]
    history: ContactsPublic


class CallTaskPublic(BaseModel):
    task_id: int
    customer_id: str
    account_id: str
    stage: str
    priority: int
    score: int
    due_at: datetime
    status: str
    locked_by: str | None
    locked_until: datetime | None
    permit_id: str | None
    cancel_reason: str | None
    outcome: str | None
    contact_point: str | None = Field(default=None, description="the number to call (only to its collector)")
    script: str | None = None


class NextCallTaskPublic(BaseModel):
    task: CallTaskPublic | None


class CallTasksPublic(BaseModel):
    items: list[CallTaskPublic]
    next_cursor: str | None

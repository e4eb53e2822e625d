"""Request and response bodies of the gateway's routes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from collections_common.events._base import PRINTABLE_PATTERN

Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=PRINTABLE_PATTERN)]
Region = Annotated[str, Field(min_length=1, max_length=64, pattern=PRINTABLE_PATTERN)]
Name = Annotated[str, Field(min_length=1, max_length=255, pattern=PRINTABLE_PATTERN)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
MAX_MINOR = 10**15
Channel = Literal["sms", "email", "push", "ivr", "call", "visit", "letter"]
Outcome = Literal[
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


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- registry (bank side) ---


class AgencyCreate(Strict):
    agency_id: Identifier
    name: Name
    regions: Annotated[list[Region], Field(min_length=1, max_length=100)]
    capacity: Annotated[int, Field(ge=0, le=10_000_000, description="cases it may hold at once")]
    active: bool = True
    contract_start: date
    contract_end: date
    review_due: Annotated[date, Field(description="its annual review; past it, no new cases")]


class AgencyReview(Strict):
    review_due: Annotated[date, Field(description="the next annual review")]
    capacity: Annotated[int | None, Field(ge=0, le=10_000_000)] = None
    regions: Annotated[list[Region] | None, Field(min_length=1, max_length=100)] = None
    contract_end: date | None = None


class AgencyDeactivation(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=500, pattern=PRINTABLE_PATTERN)]


class AgencyPublic(BaseModel):
    agency_id: str
    name: str
    regions: list[str]
    capacity: int
    active: bool
    contract_start: date
    contract_end: date
    review_due: date
    may_take_new_work: bool = Field(description="active, under contract today and not past its review")


class AgenciesPublic(BaseModel):
    items: list[AgencyPublic]
    next_cursor: str | None = Field(description="pass it as cursor for the next page; null at the end")


class ClientPublic(BaseModel):
    client_id: str
    agency_id: str
    generation: int
    created_at: datetime
    revoked_at: datetime | None


class ClientsPublic(BaseModel):
    items: list[ClientPublic]


class ClientSecretPublic(BaseModel):
    """An API client's credentials: the secret is in this answer only; keep it safe."""

    client_id: str
    agency_id: str
    client_secret: str
    generation: int


class AuditRecordPublic(BaseModel):
    at: datetime
    actor_kind: str
    actor_id: str
    agency_id: str | None
    subject_kind: str
    subject_id: str
    fields: list[str]
    route: str
    request_id: str | None


class AuditPublic(BaseModel):
    items: list[AuditRecordPublic]
    next_cursor: str | None


# --- OAuth ---


class TokenPublic(BaseModel):
    """RFC 6749 section 5.1."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int


class OAuthErrorPublic(BaseModel):
    """RFC 6749 section 5.2."""

    error: Literal["invalid_request", "invalid_client", "unsupported_grant_type", "invalid_scope"]
    error_description: str


# --- cases (agency side) ---


class ContactPointPublic(BaseModel):
    kind: Literal["phone", "email", "address"]
    value: str


class DebtorPublic(BaseModel):
    name: str
    national_id_masked: str | None = Field(description="the national ID's last four characters, masked")
    contact_points: list[ContactPointPublic]
    language: str | None


class AccountPublic(BaseModel):
    account_id: str
    stage: str
    dpd: int
    past_due_minor: int
    currency: str


class PromisePublic(BaseModel):
    promised_date: date
    amount_minor: int
    currency: str


class ActivityPublic(BaseModel):
    activity_id: str
    kind: str
    at: datetime
    channel: str | None
    outcome: str | None
    promise: PromisePublic | None
    violation: str | None = Field(description="the rule a reported contact broke, if any")


class CaseSummaryPublic(BaseModel):
    case_id: str
    placement_id: str
    debtor_name: str
    region: str | None
    stage: str
    dpd: int
    past_due_minor: int
    currency: str
    placed_on: date
    ends_on: date
    changed_at: datetime


class CasesPublic(BaseModel):
    items: list[CaseSummaryPublic]
    next_cursor: str = Field(description="pass it as cursor to get what is new or changed after these")
    has_more: bool


class CasePublic(BaseModel):
    case_id: str
    placement_id: str
    region: str | None
    stage: str
    dpd: int
    past_due_minor: int
    currency: str
    placed_on: date
    ends_on: date
    debtor: DebtorPublic
    accounts: list[AccountPublic]
    history: list[ActivityPublic] = Field(description="the agency's latest reports on this case")


class PermitCreate(Strict):
    channel: Channel
    contact_point: Annotated[
        str,
        Field(
            min_length=1,
            max_length=320,
            pattern=PRINTABLE_PATTERN,
            description="one of the case's contact points: an E.164 number, an e-mail address, or 'address'",
        ),
    ]
    autodialled: bool | None = None
    purpose: Literal["collect", "locate"] = "collect"
    at: AwareDatetime | None = None


class PermitPublic(BaseModel):
    permit_id: str | None
    allowed: bool
    expires_at: datetime | None
    rule: str | None = Field(description="the rule that refused it")
    reason: str | None
    retry_after: datetime | None


class PromiseCreate(Strict):
    promised_date: date
    amount_minor: Annotated[int, Field(ge=1, le=MAX_MINOR)]
    currency: Currency


class ActivityCreate(Strict):
    kind: Literal["contact", "visit", "promise", "payment_arranged"]
    at: AwareDatetime
    channel: Channel | None = None
    outcome: Outcome | None = None
    permit_id: Identifier | None = None
    promise: PromiseCreate | None = None


class ActivityReceiptPublic(BaseModel):
    activity_id: str
    case_id: str
    kind: str
    violation: str | None = Field(description="the rule the reported contact broke; it is counted")


class ReturnCreate(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=500, pattern=PRINTABLE_PATTERN)]


class ReturnPublic(BaseModel):
    case_id: str
    placement_id: str
    returned_at: datetime

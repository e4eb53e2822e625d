"""Request and response models of the escalation API (named by role)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from collections_common.events._base import PRINTABLE_PATTERN
from escalation_service.domain.legal import StepKind
from escalation_service.domain.visits import VisitOutcome

Name = Annotated[str, Field(min_length=1, max_length=255)]
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=PRINTABLE_PATTERN)]
Reason = Annotated[str, Field(min_length=1, max_length=500)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel):
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")


# -- letters ---------------------------------------------------------------------------------------
class LetterPublic(BaseModel):
    letter_id: str
    account_id: str
    customer_id: str
    rule_id: str
    language: str
    past_due_minor: int
    currency: str
    dpd: int
    issued_on: date
    pay_by: date
    status: Literal["pending", "sent", "failed", "cancelled"]
    attempts: int
    provider_ref: str | None
    last_error: str | None
    sent_at: datetime | None
    updated_by: str


class LettersPublic(Page):
    items: list[LetterPublic]


class LetterCancel(_In):
    reason: Reason


# -- visits ----------------------------------------------------------------------------------------
class VisitorPublic(BaseModel):
    staff_id: str
    name: str


class VisitPublic(BaseModel):
    visit_id: str
    account_id: str
    customer_id: str
    status: Literal["scheduled", "prepared", "arranged", "completed", "cancelled"]
    scheduled_on: date
    materials: list[str]
    plan: str | None
    visit_at: datetime | None
    arranged_at: datetime | None
    permit_id: str | None
    staff: list[VisitorPublic]
    outcome: str | None
    record_ref: str | None
    completed_at: datetime | None
    notes: str | None
    cancel_reason: str | None
    updated_by: str


class VisitsPublic(Page):
    items: list[VisitPublic]


class VisitDebtorPublic(BaseModel):
    """Who the field team visits and where: personal data, every read of it audited."""

    visit_id: str
    customer_id: str
    name: str | None
    address: dict[str, Any] | None
    phones: list[str]


class VisitPrepare(_In):
    materials: Annotated[list[Annotated[str, Field(max_length=255)]], Field(max_length=50)]
    plan: Annotated[str, Field(max_length=4000)]


class VisitArrange(_In):
    visit_at: datetime = Field(description="when the visit takes place (with a timezone)")
    arranged_at: datetime | None = Field(default=None, description="when the debtor agreed; default now")
    permit_id: Annotated[str, Field(max_length=64, description="the contact permit (channel visit)")]


class Visitor(_In):
    staff_id: Id
    name: Name


class VisitComplete(_In):
    staff: Annotated[list[Visitor], Field(max_length=10, description="the field staff who visited")]
    outcome: VisitOutcome
    record_ref: Annotated[str, Field(max_length=255, description="the reference of the visit record")]
    completed_at: datetime | None = Field(default=None, description="default now")
    notes: Annotated[str, Field(max_length=4000)] = ""


class VisitCancel(_In):
    reason: Reason


# -- offers ----------------------------------------------------------------------------------------
class OfferCreate(_In):
    account_id: Id
    instalments: Annotated[int, Field(ge=1, le=60)]
    fee_minor: Annotated[int, Field(ge=0, le=10**15)] = 0
    fee_reduction_amount_minor: Annotated[int | None, Field(ge=0, le=10**15)] = None
    fee_reduction_basis_points: Annotated[int | None, Field(ge=0, le=10_000)] = None
    outstanding_minor: Annotated[int | None, Field(ge=1, le=10**15)] = Field(
        default=None, description="default: the account's past due"
    )
    first_due_date: date
    expires_on: date | None = None


class OfferPublic(BaseModel):
    offer_id: str
    account_id: str
    customer_id: str
    rule_id: str
    status: Literal["offered", "accepted", "declined", "expired", "withdrawn", "broken"]
    outstanding_minor: int
    instalments: int
    fee_minor: int
    fee_reduction_amount_minor: int | None
    fee_reduction_basis_points: int | None
    first_due_date: date
    currency: str
    offered_on: date
    expires_on: date
    answered_on: date | None
    made_by: str
    answered_by: str | None


class OffersPublic(Page):
    items: list[OfferPublic]


# -- legal files -----------------------------------------------------------------------------------
class LegalStepPublic(BaseModel):
    number: int
    kind: StepKind
    on: date
    reference: str
    recorded_by: str


class LegalFilePublic(BaseModel):
    file_id: str
    account_id: str
    customer_id: str
    rule_id: str
    reason: str
    opened_on: date
    closed_on: date | None
    close_reason: str | None
    closed_by: str | None
    next_step: StepKind | None
    steps: list[LegalStepPublic]


class LegalFilesPublic(Page):
    items: list[LegalFilePublic]


class LegalStepCreate(_In):
    kind: StepKind
    on: date
    reference: Annotated[str, Field(max_length=255)] = ""


class LegalFileClose(_In):
    reason: Reason
    on: date | None = None


# -- placements ------------------------------------------------------------------------------------
class PlacementPublic(BaseModel):
    placement_id: str
    agency_id: str
    customer_id: str
    account_id: str
    rule_id: str
    placed_on: date
    ends_on: date
    past_due_at_placement_minor: int
    currency: str
    recalled_on: date | None
    recall_reason: str | None
    recalled_by: str | None


class PlacementsPublic(Page):
    items: list[PlacementPublic]


class PlacementRecall(_In):
    reason: Literal["complaint", "stop_flag", "cure", "restructuring", "inactive"]


class AgencyPublic(BaseModel):
    agency_id: str
    name: str
    regions: list[str]
    capacity: int
    active: bool
    contract_start: date
    contract_end: date
    review_due: date
    active_placements: int


class AgenciesPublic(BaseModel):
    items: list[AgencyPublic]


# -- decisions -------------------------------------------------------------------------------------
class DecisionPublic(BaseModel):
    key: str
    rule_id: str
    action: str
    effect: str
    scope: str
    subject_id: str
    account_id: str
    customer_id: str
    episode: int
    facts: dict[str, Any]
    outcome: dict[str, Any] | None
    reason: str | None
    closed_by: str | None
    cause_event_id: str
    created_at: datetime


class DecisionsPublic(BaseModel):
    items: list[DecisionPublic]

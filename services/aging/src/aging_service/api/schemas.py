"""Response models of the aging API (named by role, as returned to collectors and systems)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class DuePublic(BaseModel):
    statement_id: str
    statement_date: date
    due_date: date
    amount_minor: int = Field(description="the statement's minimum due")
    paid_minor: int
    reaged_minor: int = Field(description="settled by a reage (restructuring)")
    unpaid_minor: int
    past_due: bool = Field(description="due_date before the as-of date and not fully paid")


class PaymentPublic(BaseModel):
    payment_id: str
    value_date: date
    amount_minor: int
    reversed: bool
    reversal_reason: str | None = None


class DelinquencyPublic(BaseModel):
    account_id: str
    customer_id: str | None
    currency: str | None
    stage: str
    dpd: int
    past_due_minor: int
    oldest_unpaid_due_date: date | None
    as_of: date | None = Field(description="the business day after the last close applied; null before any")
    dues: list[DuePublic]
    payments: list[PaymentPublic]
    pending_reversals: list[str] = Field(description="reversals of payments not received yet")


class StageChangePublic(BaseModel):
    from_stage: str
    to_stage: str
    dpd: int
    past_due_minor: int
    oldest_unpaid_due_date: date | None
    as_of: date
    cause: str
    cause_event_id: str
    event_id: str
    changed_at: datetime


class StageHistoryPublic(BaseModel):
    account_id: str
    changes: list[StageChangePublic]


class StageSummary(BaseModel):
    stage: str
    accounts: int
    past_due_minor: dict[str, int] = Field(description="past-due amount per currency, in minor units")


class PortfolioSummaryPublic(BaseModel):
    as_of: date | None = Field(description="the date asked for; null means now")
    stages: list[StageSummary]
    note: str | None = None

"""``/v1/accounts/{account_id}/...``: an account's delinquency now, and its stage history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from sqlalchemy import select

from aging_service.adapters.orm import reversals, stage_changes
from aging_service.adapters.repository import BookRepository, partition_clocks_of
from aging_service.api.deps import PolicyDep, SessionDep
from aging_service.api.schemas import (
    DelinquencyPublic,
    DuePublic,
    PaymentPublic,
    StageChangePublic,
    StageHistoryPublic,
)
from aging_service.domain.errors import UnknownAccount
from aging_service.handlers import as_of_after
from collections_common.events._base import PRINTABLE_PATTERN
from collections_common.problems import Problem

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])

AccountId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=PRINTABLE_PATTERN,
        description="core banking's account id (1-64 printable characters)",
    ),
]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "aging has seen no event for this account"}
}


@router.get("/{account_id}/delinquency", response_model=DelinquencyPublic, responses=NOT_FOUND)
async def get_delinquency(
    *, account_id: AccountId, session: SessionDep, policy: PolicyDep
) -> DelinquencyPublic:
    """Stage, days past due and past-due amount as of now, with the dues and payments behind them."""
    repo = BookRepository(session, policy)
    partition = await repo.partition_of(account_id)
    if partition is None:
        raise UnknownAccount(account_id)
    book = (await repo.load([account_id], {}))[account_id]
    as_of = as_of_after((await partition_clocks_of(session, [partition])).get(partition))
    assessment = book.assess(as_of)
    rows = await session.execute(
        select(reversals.c.payment_id, reversals.c.reason).where(reversals.c.account_id == account_id)
    )
    reasons = {row.payment_id: row.reason for row in rows}
    return DelinquencyPublic(
        account_id=account_id,
        customer_id=book.customer_id,
        currency=book.currency,
        stage=assessment.stage,
        dpd=assessment.dpd,
        past_due_minor=assessment.past_due_minor,
        oldest_unpaid_due_date=assessment.oldest_unpaid_due_date,
        as_of=as_of,
        dues=[
            DuePublic(
                statement_id=status.due.statement_id,
                statement_date=status.due.statement_date,
                due_date=status.due.due_date,
                amount_minor=status.due.amount_minor,
                paid_minor=status.paid_minor,
                reaged_minor=status.reaged_minor,
                unpaid_minor=status.unpaid_minor,
                past_due=as_of is not None and status.due.due_date < as_of and status.unpaid_minor > 0,
            )
            for status in sorted(assessment.dues, key=lambda s: (s.due.due_date, s.due.statement_id))
        ],
        payments=[
            PaymentPublic(
                payment_id=payment.payment_id,
                value_date=payment.value_date,
                amount_minor=payment.amount_minor,
                reversed=payment.reversed,
                reversal_reason=reasons.get(payment.payment_id),
            )
            for payment in book.payment_records()
        ],
        pending_reversals=sorted(book.reversed_payment_ids - book.payments.keys()),
    )


@router.get("/{account_id}/stage-history", response_model=StageHistoryPublic, responses=NOT_FOUND)
async def get_stage_history(
    *, account_id: AccountId, session: SessionDep, policy: PolicyDep
) -> StageHistoryPublic:
    """Every stage change of the account, oldest first, with its cause."""
    if await BookRepository(session, policy).partition_of(account_id) is None:
        raise UnknownAccount(account_id)
    rows = await session.execute(
        select(stage_changes).where(stage_changes.c.account_id == account_id).order_by(stage_changes.c.id)
    )
    return StageHistoryPublic(
        account_id=account_id,
        changes=[
            StageChangePublic(
                from_stage=row.from_stage,
                to_stage=row.to_stage,
                dpd=row.dpd,
                past_due_minor=row.past_due_minor,
                oldest_unpaid_due_date=row.oldest_unpaid_due_date,
                as_of=row.as_of,
                cause=row.cause,
                cause_event_id=row.cause_event_id,
                event_id=row.event_id,
                changed_at=row.changed_at,
            )
            for row in rows
        ],
    )

"""``/v1/accounts/{account_id}/...``: an account's delinquency now, and its stage history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from aging_service.adapters.queries import AccountQueries
from aging_service.api.deps import PolicyDep, SessionDep
from aging_service.api.schemas import (
    DelinquencyPublic,
    DuePublic,
    PaymentPublic,
    StageChangePublic,
    StageHistoryPublic,
)
from collections_common.events import PRINTABLE_PATTERN
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
    found = await AccountQueries(session, policy).delinquency(account_id)
    book, assessment, as_of = found.book, found.assessment, found.as_of
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
                reversal_reason=found.reversal_reasons.get(payment.payment_id),
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
    rows = await AccountQueries(session, policy).stage_history(account_id)
    return StageHistoryPublic(
        account_id=account_id,
        changes=[StageChangePublic.model_validate(row, from_attributes=True) for row in rows],
    )

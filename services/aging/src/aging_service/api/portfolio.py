"""``/v1/portfolio/summary``: accounts and past-due amount per stage, now or as of a past date."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from aging_service.adapters.orm import accounts, stage_changes
from aging_service.api.deps import PolicyDep, SessionDep
from aging_service.api.schemas import PortfolioSummaryPublic, StageSummary

router = APIRouter(prefix="/v1/portfolio", tags=["portfolio"])

HISTORY_NOTE = (
    "as of a past date: each account's stage is the last one it entered on or before that date "
    "(accounts with no change by then count as the first stage); its past-due amount is the one "
    "recorded with that stage change"
)


@router.get("/summary", response_model=PortfolioSummaryPublic)
async def get_summary(
    *,
    session: SessionDep,
    policy: PolicyDep,
    as_of: Annotated[date | None, Query(description="an as-of date (YYYY-MM-DD); omit for now")] = None,
) -> PortfolioSummaryPublic:
    """Counts and past-due sums per stage, rebuilt from the stage history for a past date."""
    counts: dict[str, int] = defaultdict(int)
    amounts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    if as_of is None:
        rows = await session.execute(
            select(
                accounts.c.stage, accounts.c.currency, func.count(), func.sum(accounts.c.past_due_minor)
            ).group_by(accounts.c.stage, accounts.c.currency)
        )
        for stage, currency, count, past_due in rows.tuples():
            counts[stage] += count
            if past_due:
                amounts[stage][currency or "UNKNOWN"] += int(past_due)
    else:
        latest = (
            select(
                stage_changes.c.account_id,
                stage_changes.c.to_stage,
                stage_changes.c.past_due_minor,
            )
            .where(stage_changes.c.as_of <= as_of)
            .distinct(stage_changes.c.account_id)
            .order_by(stage_changes.c.account_id, stage_changes.c.id.desc())
            .subquery()
        )
        rows = await session.execute(
            select(latest.c.to_stage, accounts.c.currency, func.count(), func.sum(latest.c.past_due_minor))
            .join(accounts, accounts.c.account_id == latest.c.account_id)
            .group_by(latest.c.to_stage, accounts.c.currency)
        )
        changed = 0
        for stage, currency, count, past_due in rows.tuples():
            counts[stage] += count
            changed += count
            if past_due:
                amounts[stage][currency or "UNKNOWN"] += int(past_due)
        total = await session.scalar(select(func.count()).select_from(accounts)) or 0
        counts[policy.current_stage] += total - changed
    stages = [bucket.name for bucket in policy.buckets]
    stages += sorted(set(counts) - set(stages))  # stages of an earlier configuration
    return PortfolioSummaryPublic(
        as_of=as_of,
        stages=[
            StageSummary(stage=s, accounts=counts.get(s, 0), past_due_minor=dict(amounts.get(s, {})))
            for s in stages
        ],
        note=HISTORY_NOTE if as_of is not None else None,
    )

"""``/v1/portfolio/summary``: accounts and past-due amount per stage, now or as of a past date."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from aging_service.adapters.queries import PortfolioQueries
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
    totals = await PortfolioQueries(session, policy).stage_totals(as_of)
    stages = [bucket.name for bucket in policy.buckets]
    stages += sorted(set(totals.counts) - set(stages))  # stages of an earlier configuration
    return PortfolioSummaryPublic(
        as_of=as_of,
        stages=[
            StageSummary(
                stage=s, accounts=totals.counts.get(s, 0), past_due_minor=dict(totals.amounts.get(s, {}))
            )
            for s in stages
        ],
        note=HISTORY_NOTE if as_of is not None else None,
    )

"""``/v1/kpis/roll-rates``: roll rates and the cure rate between month-ends, for staff
(supervisors and auditors)."""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from aging_service.adapters.kpis import KpiQueries
from aging_service.api.deps import PolicyDep, SessionDep
from aging_service.domain.kpis import MonthEndRates, rates_between
from collections_common.auth import Role, StaffPrincipal, require_roles
from collections_common.months import MONTH_PATTERN, Month, months
from collections_common.problems import Problem, Unprocessable

router = APIRouter(prefix="/v1/kpis", tags=["kpis"])

Staff = Annotated[StaffPrincipal, Depends(require_roles(Role.SUPERVISOR, Role.AUDITOR))]
MAX_MONTHS = 36
MONTH_END_NOTE = (
    "month-ends are the last calendar day of each month, taken as business as-of dates; an account's "
    "stage as of a month-end is its last stage change at or before it (the first stage before any); "
    "the accounts counted are those with a statement dated on or before the first month-end of a pair"
)


class RollRatePublic(BaseModel):
    from_stage: str
    to_stage: str = Field(description="the stage one worse than from_stage")
    accounts: int = Field(description="accounts in from_stage at the first month-end")
    rolled: int = Field(description="of them, in to_stage at the next month-end")
    rate: float | None = Field(description="rolled / accounts; null when accounts is 0")


class CureRatePublic(BaseModel):
    delinquent: int = Field(description="accounts in a stage other than the first at the first month-end")
    cured: int = Field(description="of them, in the first stage at the next month-end")
    rate: float | None = Field(description="cured / delinquent; null when delinquent is 0")


class MonthEndRatesPublic(BaseModel):
    from_month_end: date
    to_month_end: date
    roll_rates: list[RollRatePublic]
    cure_rate: CureRatePublic


class RollRatesPublic(BaseModel):
    periods: list[MonthEndRatesPublic] = Field(description="one per pair of consecutive month-ends")
    note: str


def _ratio(value: Fraction | None) -> float | None:
    return None if value is None else round(float(value), 6)


def _public(rates: MonthEndRates) -> MonthEndRatesPublic:
    return MonthEndRatesPublic(
        from_month_end=rates.start,
        to_month_end=rates.end,
        roll_rates=[
            RollRatePublic(
                from_stage=r.from_stage,
                to_stage=r.to_stage,
                accounts=r.counts.accounts,
                rolled=r.counts.moved,
                rate=_ratio(r.counts.rate),
            )
            for r in rates.roll_rates
        ],
        cure_rate=CureRatePublic(
            delinquent=rates.cure.accounts, cured=rates.cure.moved, rate=_ratio(rates.cure.rate)
        ),
    )


@router.get(
    "/roll-rates",
    response_model=RollRatesPublic,
    responses={422: {"model": Problem, "description": "months out of order or too many"}},
)
async def get_roll_rates(
    *,
    session: SessionDep,
    policy: PolicyDep,
    _: Staff,
    first: Annotated[str, Query(alias="from", pattern=MONTH_PATTERN, description="first month, YYYY-MM")],
    last: Annotated[str, Query(alias="to", pattern=MONTH_PATTERN, description="last month, YYYY-MM")],
) -> RollRatesPublic:
    """From each month-end of ``from`` .. ``to`` but the last to the next: roll rates per stage
    and the cure rate."""
    span = months(Month.parse(first), Month.parse(last))
    if len(span) < 2:
        raise Unprocessable("to: must be a month after from")
    if len(span) > MAX_MONTHS:
        raise Unprocessable(f"from, to: at most {MAX_MONTHS} months")
    stages = [bucket.name for bucket in policy.buckets]
    queries = KpiQueries(session)
    periods = []
    for start, end in zip(span, span[1:], strict=False):
        counts = await queries.transitions(start.last_day, end.last_day, current_stage=policy.current_stage)
        periods.append(_public(rates_between(counts, stages, start=start.last_day, end=end.last_day)))
    return RollRatesPublic(periods=periods, note=MONTH_END_NOTE)

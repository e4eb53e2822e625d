"""``/v1/kpis/contact``: promise-kept rate and contacts per cure per month, for staff
(supervisors and auditors)."""

from __future__ import annotations

from fractions import Fraction
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from collections_common.api import SessionDep
from collections_common.auth import Role, StaffPrincipal, require_roles
from collections_common.months import MONTH_PATTERN, Month, months
from collections_common.problems import Problem, Unprocessable
from contact_service.domain.kpis import MonthFigures
from contact_service.kpi_figures import figures_of

router = APIRouter(prefix="/v1/kpis", tags=["kpis"])

Staff = Annotated[StaffPrincipal, Depends(require_roles(Role.SUPERVISOR, Role.AUDITOR))]
MAX_MONTHS = 36


class ContactMonthPublic(BaseModel):
    month: str = Field(description="YYYY-MM")
    promises_kept: int = Field(description="promises decided kept, by the business date of the decision")
    promises_broken: int
    promise_kept_rate: float | None = Field(description="kept / (kept + broken); null when none was decided")
    attempts: int = Field(description="contact attempts (allowed permits), by the debtor's local date")
    cures: int = Field(description="stage changes to the first stage consumed, by their as-of date")
    contacts_per_cure: float | None = Field(description="attempts / cures; null when there was no cure")


class ContactKpisPublic(BaseModel):
    months: list[ContactMonthPublic]


def _ratio(value: Fraction | None) -> float | None:
    return None if value is None else round(float(value), 6)


def _public(f: MonthFigures) -> ContactMonthPublic:
    return ContactMonthPublic(
        month=str(f.month),
        promises_kept=f.kept,
        promises_broken=f.broken,
        promise_kept_rate=_ratio(f.promise_kept_rate),
        attempts=f.attempts,
        cures=f.cures,
        contacts_per_cure=_ratio(f.contacts_per_cure),
    )


@router.get(
    "/contact",
    response_model=ContactKpisPublic,
    responses={422: {"model": Problem, "description": "months out of order or too many"}},
)
async def get_contact_kpis(
    *,
    session: SessionDep,
    _: Staff,
    first: Annotated[str, Query(alias="from", pattern=MONTH_PATTERN, description="first month, YYYY-MM")],
    last: Annotated[str, Query(alias="to", pattern=MONTH_PATTERN, description="last month, YYYY-MM")],
) -> ContactKpisPublic:
    """The promise-kept rate and contacts per cure of each month from ``from`` to ``to``."""
    span = months(Month.parse(first), Month.parse(last))
    if not span:
        raise Unprocessable("to: must not be a month before from")
    if len(span) > MAX_MONTHS:
        raise Unprocessable(f"from, to: at most {MAX_MONTHS} months")
    return ContactKpisPublic(months=[_public(f) for f in await figures_of(session, span)])

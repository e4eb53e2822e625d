"""``/v1/kpis/agency-recovery``: each agency's recovery rate over the recovery window, for staff
(supervisors and auditors)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from collections_common.api import SessionDep
from collections_common.auth import Role, StaffPrincipal
from escalation_service.adapters.kpis import load_recovery_facts
from escalation_service.api.common import SettingsDep, staff
from escalation_service.domain.kpis import agency_recoveries

router = APIRouter(prefix="/v1/kpis", tags=["kpis"])

Staff = Annotated[StaffPrincipal, staff(Role.SUPERVISOR, Role.AUDITOR)]


class AgencyRecoveryPublic(BaseModel):
    agency_id: str
    placements: int = Field(description="placements that started in the window")
    rate: float | None = Field(
        description="paid during those placements (each up to its past due at placement) over their "
        "past due at placement; null when none owed anything"
    )
    rate_exact: str | None = Field(description="the same rate as a fraction, e.g. 3/8")


class AgencyRecoveriesPublic(BaseModel):
    as_of: date
    window_days: int = Field(description="placements that started in the window_days up to as_of count")
    agencies: list[AgencyRecoveryPublic]


@router.get("/agency-recovery", response_model=AgencyRecoveriesPublic)
async def get_agency_recovery(
    *,
    session: SessionDep,
    settings: SettingsDep,
    _: Staff,
    as_of: Annotated[
        date | None, Query(description="a business date (YYYY-MM-DD); omit for escalation's business day")
    ] = None,
) -> AgencyRecoveriesPublic:
    """Every agency's recovery rate, the figure placement allocation ranks agencies by."""
    window = settings.rules.placement.recovery_window_days
    facts = await load_recovery_facts(session, window_days=window, as_of=as_of)
    figures = agency_recoveries(
        facts.agency_ids, facts.placements, facts.payments, as_of=facts.today, window_days=window
    )
    return AgencyRecoveriesPublic(
        as_of=facts.today,
        window_days=window,
        agencies=[
            AgencyRecoveryPublic(
                agency_id=f.agency_id,
                placements=f.placements,
                rate=None if f.rate is None else round(float(f.rate), 6),
                rate_exact=None if f.rate is None else str(f.rate),
            )
            for f in figures
        ],
    )

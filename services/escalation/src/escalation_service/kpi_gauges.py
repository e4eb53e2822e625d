"""Keeps ``collections_kpi_agency_recovery_rate`` fresh: a worker component of the escalation service."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from collections_common.runtime import every
from escalation_service.adapters.kpis import load_recovery_facts
from escalation_service.domain.kpis import AgencyRecovery, agency_recoveries
from escalation_service.kpi_metrics import AGENCY_RECOVERY_RATE
from escalation_service.settings import EscalationSettings


class KpiGauges:
    """Every ``interval`` seconds, each agency's recovery rate as of escalation's business day
    (NaN for an agency with no placement that owed anything in the window)."""

    def __init__(self, settings: EscalationSettings, engine: AsyncEngine, interval: float = 60.0) -> None:
        self.settings = settings
        self.engine = engine
        self.interval = interval

    async def refresh(self) -> list[AgencyRecovery]:
        window = self.settings.rules.placement.recovery_window_days
        async with AsyncSession(self.engine) as session:
            facts = await load_recovery_facts(session, window_days=window, as_of=None)
        figures = agency_recoveries(
            facts.agency_ids, facts.placements, facts.payments, as_of=facts.today, window_days=window
        )
        for figure in figures:
            rate = float("nan") if figure.rate is None else float(figure.rate)
            AGENCY_RECOVERY_RATE.labels(figure.agency_id).set(rate)
        return figures

    async def run(self, stop: asyncio.Event) -> None:
        """Refresh the gauges every interval; a failed refresh never stops the worker."""
        await every(stop, self.interval, self.refresh, "KPI gauges refresh")

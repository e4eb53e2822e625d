"""Keeps the promise-kept rate and contacts-per-cure gauges fresh: a worker component of the
contact service. They describe the month to date of the contact service's clock
(``ContactSettings.now()``); NaN while a rate has no denominator."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from collections_common.months import Month
from collections_common.runtime import every
from contact_service.domain.kpis import MonthFigures
from contact_service.kpi_figures import figures_of
from contact_service.kpi_metrics import CONTACTS_PER_CURE, PROMISE_KEPT_RATE
from contact_service.settings import ContactSettings


class KpiGauges:
    def __init__(self, settings: ContactSettings, engine: AsyncEngine, interval: float = 60.0) -> None:
        self.settings = settings
        self.engine = engine
        self.interval = interval

    async def refresh(self) -> MonthFigures:
        async with self.engine.connect() as conn:
            [figures] = await figures_of(conn, [Month.of(self.settings.now().date())])
        kept, per_cure = figures.promise_kept_rate, figures.contacts_per_cure
        PROMISE_KEPT_RATE.set(float("nan") if kept is None else float(kept))
        CONTACTS_PER_CURE.set(float("nan") if per_cure is None else float(per_cure))
        return figures

    async def run(self, stop: asyncio.Event) -> None:
        """Refresh the gauges every interval; a failed refresh never stops the worker."""
        await every(stop, self.interval, self.refresh, "KPI gauges refresh")

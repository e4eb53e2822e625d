"""Keeps the roll-rate and cure-rate gauges fresh: a worker component of the aging service.

The gauges describe the latest two month-ends every partition is closed through (the last day of
each month as the as-of date); until two are closed they stay unset (the cure rate NaN).
"""

from __future__ import annotations

import asyncio
from datetime import date

from sqlalchemy.ext.asyncio import AsyncEngine

from aging_service.adapters.kpis import KpiQueries
from aging_service.domain.kpis import MonthEndRates, rates_between
from aging_service.domain.policy import AgingPolicy
from aging_service.kpi_metrics import CURE_RATE, ROLL_RATE
from collections_common.months import Month
from collections_common.runtime import every


def latest_month_ends(closed_through: date) -> tuple[date, date]:
    """The last two month-ends on or before ``closed_through``."""
    month = Month.of(closed_through)
    latest = month if closed_through == month.last_day else month.previous()
    return latest.previous().last_day, latest.last_day


def export(rates: MonthEndRates) -> None:
    """Set the gauges to ``rates`` (a rate with no account behind it is NaN)."""
    for roll in rates.roll_rates:
        rate = roll.counts.rate
        ROLL_RATE.labels(roll.from_stage, roll.to_stage).set(float("nan") if rate is None else float(rate))
    cure = rates.cure.rate
    CURE_RATE.set(float("nan") if cure is None else float(cure))


class KpiGauges:
    """A worker component: every ``interval`` seconds, compute the latest month-end rates."""

    def __init__(self, engine: AsyncEngine, policy: AgingPolicy, interval: float = 60.0) -> None:
        self._engine = engine
        self._policy = policy
        self._interval = interval

    async def run(self, stop: asyncio.Event) -> None:
        """Refresh the gauges every interval; a failed refresh never stops the worker."""
        await every(stop, self._interval, self.refresh, "KPI gauges refresh")

    async def refresh(self) -> MonthEndRates | None:
        async with self._engine.connect() as conn:
            queries = KpiQueries(conn)
            closed = await queries.closed_through()
            if closed is None:
                return None
            start, end = latest_month_ends(closed)
            counts = await queries.transitions(start, end, current_stage=self._policy.current_stage)
        rates = rates_between(counts, [b.name for b in self._policy.buckets], start=start, end=end)
        export(rates)
        return rates

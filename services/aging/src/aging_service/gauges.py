"""Keeps the per-stage gauges (accounts, past-due amount) and the close clock fresh from the database.

The close clock is read from the database, not from one worker's memory, so every instance
exports the same values whichever partitions it owns.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, time

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from aging_service.adapters.orm import accounts, business_day_closes, partition_clocks
from aging_service.metrics import (
    ACCOUNTS_BY_STAGE,
    CLOSE_WAIT,
    CLOSED_THROUGH,
    LAST_NOTED_CLOSE,
    PAST_DUE_BY_STAGE,
)
from collections_common.runtime import is_transient, sleep_or_stop

log = logging.getLogger(__name__)


def midnight_utc(day: date) -> float:
    """Unix time of ``day``'s 00:00 UTC: how a business date is exported as a gauge."""
    return datetime.combine(day, time(), tzinfo=UTC).timestamp()


class StageGauges:
    """A worker component: every ``interval`` seconds, count accounts and past due per stage and
    read the close clock (closed-through date, latest noted close, how long a close has waited)."""

    def __init__(self, engine: AsyncEngine, stages: list[str], interval: float = 15.0) -> None:
        self._engine = engine
        self._stages = stages
        self._interval = interval

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.refresh()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning("stage gauges not refreshed: %s", exc)
            await sleep_or_stop(stop, self._interval)

    async def refresh(self) -> None:
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(
                        accounts.c.stage,
                        accounts.c.currency,
                        func.count(),
                        func.sum(accounts.c.past_due_minor),
                    ).group_by(accounts.c.stage, accounts.c.currency)
                )
            ).all()
            counts = dict.fromkeys(self._stages, 0)
            for stage, currency, count, past_due in rows:
                counts[stage] = counts.get(stage, 0) + count
                PAST_DUE_BY_STAGE.labels(stage, currency or "UNKNOWN").set(int(past_due or 0))
            for stage, count in counts.items():
                ACCOUNTS_BY_STAGE.labels(stage).set(count)
            await self._refresh_close_clock(conn)

    @staticmethod
    async def _refresh_close_clock(conn: AsyncConnection) -> None:
        closed_through = (await conn.execute(select(func.min(partition_clocks.c.closed_through)))).scalar()
        noted = (await conn.execute(select(func.max(business_day_closes.c.business_date)))).scalar()
        waiting = select(func.extract("epoch", func.now() - func.min(business_day_closes.c.noted_at)))
        if closed_through is not None:
            waiting = waiting.where(business_day_closes.c.business_date > closed_through)
            CLOSED_THROUGH.set(midnight_utc(closed_through))
        if noted is not None:
            LAST_NOTED_CLOSE.set(midnight_utc(noted))
        wait = (await conn.execute(waiting)).scalar()
        CLOSE_WAIT.set(max(float(wait or 0), 0.0))

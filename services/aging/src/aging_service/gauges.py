"""Keeps the per-stage gauges (accounts, past-due amount) fresh from the database."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from aging_service.adapters.orm import accounts
from aging_service.metrics import ACCOUNTS_BY_STAGE, PAST_DUE_BY_STAGE
from collections_common.runtime import is_transient
from collections_common.runtime._aio import sleep_or_stop

log = logging.getLogger(__name__)


class StageGauges:
    """A worker component: every ``interval`` seconds, count accounts and past due per stage."""

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
            ).tuples()
            counts = dict.fromkeys(self._stages, 0)
            for stage, currency, count, past_due in rows:
                counts[stage] = counts.get(stage, 0) + count
                PAST_DUE_BY_STAGE.labels(stage, currency or "UNKNOWN").set(int(past_due or 0))
            for stage, count in counts.items():
                ACCOUNTS_BY_STAGE.labels(stage).set(count)

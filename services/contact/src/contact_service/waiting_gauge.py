"""Keeps the gauge of the stage changes waiting for their account's opening fresh
(``metrics.STAGE_CHANGES_WAITING``; ``stage_changes`` says why they wait): a worker component of
the contact service."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from collections_common.database import session_factory
from collections_common.runtime import every
from contact_service.adapters.waiting import WaitingStageChanges
from contact_service.metrics import STAGE_CHANGES_WAITING

__all__ = ["WaitingGauge"]


class WaitingGauge:
    def __init__(self, engine: AsyncEngine, interval: float = 15.0) -> None:
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
        self.interval = interval

    async def refresh(self) -> int:
        """Set the gauge to how many stage changes wait now; returns that number."""
        async with self.sessions() as session:
            waiting = await WaitingStageChanges(session).count()
        STAGE_CHANGES_WAITING.set(waiting)
        return waiting

    async def run(self, stop: asyncio.Event) -> None:
        """Refresh the gauge every interval; a failed refresh never stops the worker."""
        await every(stop, self.interval, self.refresh, "waiting stage changes gauge refresh")

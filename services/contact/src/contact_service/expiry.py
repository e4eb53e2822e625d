"""The worker component that closes unanswered permits: an allowed permit past its expiry with
no outcome becomes ``unknown`` and ``collections.contact.attempted`` is emitted for it once
(``permits.expire_unanswered``); a late outcome still replaces it (``permits.record_outcome``)."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from collections_common.database import session_factory
from collections_common.runtime import Outbox
from collections_common.runtime._aio import sleep_or_stop
from contact_service.adapters.permits import PermitRepository
from contact_service.permits import expire_unanswered
from contact_service.settings import ContactSettings

__all__ = ["PermitExpiry"]

log = logging.getLogger(__name__)


class PermitExpiry:
    """Every ``expiry_interval_ms``, records ``unknown`` for the permits that expired unanswered."""

    def __init__(self, settings: ContactSettings, engine: AsyncEngine) -> None:
        self.settings = settings
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(engine)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:  # a bad tick is logged; the next one tries again
                log.exception("permit expiry tick failed")
            await sleep_or_stop(stop, self.settings.expiry_interval_ms / 1000)

    async def tick(self) -> int:
        """Close up to ``expiry_batch`` expired permits, each in its own transaction; returns how many."""
        now = self.settings.now()
        async with self.sessions() as session:
            due = await PermitRepository(session).expired_unanswered(now, self.settings.expiry_batch)
        closed = 0
        for permit_id in due:
            async with self.sessions() as session, session.begin():
                outbox = Outbox(session)
                if await expire_unanswered(
                    session,
                    outbox,
                    pack=self.settings.pack,
                    source=self.settings.source,
                    permit_id=permit_id,
                    now=now,
                ):
                    closed += 1
                await outbox.flush()
        return closed

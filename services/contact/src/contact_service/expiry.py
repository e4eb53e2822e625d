"""The worker component that closes unanswered permits: an allowed permit past its expiry with
no outcome becomes ``unknown`` and ``collections.contact.attempted`` is emitted for it once
(``permits.expire_unanswered``); a late outcome still replaces it (``permits.record_outcome``)."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from collections_common.database import session_factory
from collections_common.runtime import Outbox, every
from contact_service.adapters.permits import PermitRepository
from contact_service.permits import expire_unanswered
from contact_service.settings import ContactSettings

__all__ = ["PermitExpiry"]


class PermitExpiry:
    """Every ``expiry_interval_ms``, records ``unknown`` for the permits that expired unanswered."""

    def __init__(self, settings: ContactSettings, engine: AsyncEngine) -> None:
        self.settings = settings
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(engine)

    async def run(self, stop: asyncio.Event) -> None:
        await every(stop, self.settings.expiry_interval_ms / 1000, self.tick, "permit expiry tick")

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

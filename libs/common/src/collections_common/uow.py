"""The unit of work: one database transaction holding a service's state changes and the events
they cause (the transactional outbox), committed together or not at all.

Consumers get theirs from the runner (one per batch: :class:`~collections_common.runtime.Batch`).
HTTP writes use this one, through :data:`collections_common.api.UnitOfWorkDep`::

    async def place_hold(*, uow: UnitOfWorkDep, body: HoldCreate) -> HoldPublic:
        hold = Holds(uow.session).add(...)
        uow.outbox.add(Topics.CONTACT, new_event(...), key=account_id)
        await uow.commit()
        return HoldPublic.model_validate(hold)

Leaving the block without :meth:`UnitOfWork.commit` rolls everything back, outbox included.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from collections_common.runtime.outbox import Outbox


class UnitOfWork:
    """A session in a transaction and the outbox written in it."""

    session: AsyncSession
    outbox: Outbox

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._committed = False

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._sessions()
        await self.session.begin()
        self.outbox = Outbox(self.session)
        return self

    async def commit(self) -> None:
        """Write the outbox's events and commit them with the state, in one transaction."""
        await self.outbox.flush()
        await self.session.commit()
        self._committed = True

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if not self._committed:
                await self.session.rollback()
        finally:
            await self.session.close()

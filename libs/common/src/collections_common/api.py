"""Dependencies every service's API shares, as ``Annotated`` aliases (FastAPI's idiom).

``create_app`` keeps the service's session factory on ``app.state.sessions``; routes ask for a
plain session to read (:data:`SessionDep`) or a unit of work to write (:data:`UnitOfWorkDep`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from collections_common.uow import UnitOfWork


def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    return sessions


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    async with _sessions(request)() as session:
        yield session


async def _unit_of_work(request: Request) -> AsyncIterator[UnitOfWork]:
    async with UnitOfWork(_sessions(request)) as uow:
        yield uow


MAX_BIGINT = 2**63 - 1
"""The largest identifier a ``bigint`` column holds: bound integer path and cursor values by it
(a larger one would fail in the database instead of answering 4xx)."""

SessionDep = Annotated[AsyncSession, Depends(_session)]
"""A session for reads; nothing it does is committed."""

UnitOfWorkDep = Annotated[UnitOfWork, Depends(_unit_of_work)]
"""A transaction for a write: the route commits it (state and outbox together) or it rolls back."""

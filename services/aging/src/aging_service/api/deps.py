"""Dependencies of the aging API as ``Annotated`` aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aging_service.domain.policy import AgingPolicy


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    async with sessions() as session:
        yield session


def _policy(request: Request) -> AgingPolicy:
    policy: AgingPolicy = request.app.state.policy
    return policy


SessionDep = Annotated[AsyncSession, Depends(_session)]
PolicyDep = Annotated[AgingPolicy, Depends(_policy)]

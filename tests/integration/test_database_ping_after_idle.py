"""``create_engine(..., pre_ping_after_idle=...)``: only a connection idle long enough is checked."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from collections_common.database import create_engine
from collections_common.settings import ServiceSettings
from devstack.stack import Stack

pytestmark = [pytest.mark.infra]


@pytest.fixture
def settings(stack: Stack, namespace: str) -> ServiceSettings:
    stack.create_database(namespace)
    return ServiceSettings(
        database_url=stack.database_url(namespace), service_name=f"ping-{namespace}", database_pool_size=1
    )


@pytest.fixture
async def killer(settings: ServiceSettings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.model_copy(update={"service_name": "killer"}), pre_ping=False)
    try:
        yield engine
    finally:
        await engine.dispose()


async def backend(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def terminate(killer: AsyncEngine, pid: int) -> None:
    async with killer.connect() as conn:
        await conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})


class TestPingAfterIdle:
    async def test_a_connection_that_died_while_idle_long_enough_is_replaced_before_use(
        self, settings: ServiceSettings, killer: AsyncEngine
    ) -> None:
        engine = create_engine(settings, pre_ping_after_idle=0.2)
        try:
            first = await backend(engine)
            await terminate(killer, first)
            await asyncio.sleep(0.3)
            second = await backend(engine)  # no error: the ping found it dead, the pool reconnected
            assert second != first
        finally:
            await engine.dispose()

    async def test_a_connection_idle_for_less_is_used_unchecked(
        self, settings: ServiceSettings, killer: AsyncEngine
    ) -> None:
        engine = create_engine(settings, pre_ping_after_idle=60)
        try:
            first = await backend(engine)
            await terminate(killer, first)
            with pytest.raises(DBAPIError):  # unchecked: the dead connection fails this use
                await backend(engine)
            assert await backend(engine) != first  # and SQLAlchemy replaced it for the next
        finally:
            await engine.dispose()

    async def test_pre_ping_alone_still_checks_every_connection(
        self, settings: ServiceSettings, killer: AsyncEngine
    ) -> None:
        engine = create_engine(settings)
        try:
            first = await backend(engine)
            await terminate(killer, first)
            assert await backend(engine) != first
        finally:
            await engine.dispose()

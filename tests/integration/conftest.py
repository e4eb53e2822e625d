"""Fixtures of the integration tests: the agency gateway on the real PostgreSQL, and an engine on a
module's ``settings``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from collections_common.settings import ServiceSettings
from devstack.stack import Stack
from tests.gateway_support import (
    FakeContactService,
    Gateway,
    database_from,
    fake_contact_service,
    gateway,
    template_database,
)


@pytest.fixture(scope="session")
def contact_service() -> Iterator[FakeContactService]:
    yield from fake_contact_service()


@pytest.fixture(scope="session")
def gateway_template(stack: Stack) -> str:
    return template_database(stack)


@pytest.fixture
async def gw(
    stack: Stack, namespace: str, tmp_path: Path, contact_service: FakeContactService, gateway_template: str
) -> AsyncIterator[Gateway]:
    contact_service.reset()
    url = database_from(stack, gateway_template, f"{namespace}_gateway")
    async for world in gateway(url, tmp_path, contact_service, migrate=False):
        yield world


@pytest.fixture
async def engine(settings: ServiceSettings) -> AsyncIterator[AsyncEngine]:
    """An engine on the database of the module's ``settings`` fixture (a module may define its own)."""
    engine = create_async_engine(settings.database_url)
    try:
        yield engine
    finally:
        await engine.dispose()

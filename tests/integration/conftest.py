"""Fixtures of the integration tests: the agency gateway on the real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

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

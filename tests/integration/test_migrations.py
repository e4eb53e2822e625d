"""Each service's migrations create exactly the tables its code uses, and can be undone."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, inspect
from sqlalchemy.ext.asyncio import create_async_engine

from agency_gateway.bootstrap import SERVICE as AGENCY_GATEWAY
from aging_service.bootstrap import SERVICE as AGING
from collections_common.migrations import alembic_config, version_table
from collections_common.runtime import RUNTIME_METADATA
from collections_common.service import ServiceDefinition
from contact_service.bootstrap import SERVICE as CONTACT
from devstack.stack import Stack
from escalation_service.bootstrap import SERVICE as ESCALATION

pytestmark = pytest.mark.infra

SERVICES: list[ServiceDefinition[Any]] = [AGING, CONTACT, ESCALATION, AGENCY_GATEWAY]


def _metadata_of(service: ServiceDefinition[Any]) -> MetaData:
    module = __import__(f"{service.migrations.parent.name}.adapters.orm", fromlist=["metadata"])
    combined = MetaData()
    for source in (RUNTIME_METADATA, module.metadata):
        for table in source.tables.values():
            table.to_metadata(combined)
    return combined


async def _differences(url: str, metadata: MetaData, table: str) -> list[Any]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"version_table": table}), metadata
                )
            )
    finally:
        await engine.dispose()


@pytest.mark.parametrize("service", SERVICES, ids=[s.name for s in SERVICES])
async def test_migrations_match_the_tables_the_code_uses(
    service: ServiceDefinition[Any], stack: Stack, namespace: str
) -> None:
    url = stack.create_database(f"{namespace}_{service.name.replace('-', '_')}")
    service.migrate(service.settings_class(database_url=url))
    assert await _differences(url, _metadata_of(service), version_table(service.name)) == []


@pytest.mark.parametrize("service", SERVICES, ids=[s.name for s in SERVICES])
async def test_migrations_downgrade_to_nothing_and_upgrade_again(
    service: ServiceDefinition[Any], stack: Stack, namespace: str
) -> None:
    """Down to base leaves no table but Alembic's own; up again gives exactly the code's tables."""
    url = stack.create_database(f"{namespace}_{service.name.replace('-', '_')}")
    config = alembic_config(service.migrations, url, service.name)
    service.migrate(service.settings_class(database_url=url))
    await asyncio.to_thread(command.downgrade, config, "base")
    assert await _tables(url) == {version_table(service.name)}
    service.migrate(service.settings_class(database_url=url))
    assert await _tables(url) == {version_table(service.name), *_metadata_of(service).tables}
    assert await _differences(url, _metadata_of(service), version_table(service.name)) == []


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()

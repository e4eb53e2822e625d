"""Fixtures of the runtime tests: a migrated ledger on the shared stack, or on a private PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.postgres import PostgresCluster
from devstack.stack import Stack
from tests.runtime.harness import Ledger


@pytest.fixture
def ledger(stack: Stack, topics: str, namespace: str, tmp_path: Path) -> Iterator[Ledger]:
    """A migrated ledger with its own database (on the shared server) and its own topics. The
    database goes with the session's server, as every test's does: dropping it forces a
    checkpoint of the whole server (up to 40 s once the session has written gigabytes)."""
    database = f"{namespace}_ledger"
    deployed = Ledger(
        bootstrap=stack.bootstrap_servers,
        prefix=topics,
        database_url=stack.create_database(database),
        group=f"{namespace}-ledger",
        logs=tmp_path,
    )
    deployed.migrate()
    try:
        yield deployed
    finally:
        deployed.kill_all()


@pytest.fixture
def private_ledger(
    stack: Stack, topics: str, namespace: str, private_postgres: PostgresCluster, tmp_path: Path
) -> Iterator[Ledger]:
    """A migrated ledger whose database lives on ``private_postgres``."""
    deployed = Ledger(
        bootstrap=stack.bootstrap_servers,
        prefix=topics,
        database_url=private_postgres.create_database("ledger"),
        group=f"{namespace}-ledger",
        logs=tmp_path,
    )
    deployed.migrate()
    try:
        yield deployed
    finally:
        deployed.kill_all()

"""Test session: a real Apache Kafka broker and a real PostgreSQL, started once, on loopback.

Unit and contract tests never touch them (the fixtures start lazily). Integration tests get a
fresh database and a fresh topic namespace each, so they are independent of one another.
Set KAFKA_BOOTSTRAP_SERVERS and/or POSTGRES_ADMIN_URL to use existing servers instead.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.postgres import PostgresCluster
from devstack.stack import Stack


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    base = Path(tempfile.mkdtemp(prefix="collections-test-"))
    started = Stack(base).start()
    try:
        yield started
    finally:
        started.destroy()


@pytest.fixture
def private_postgres() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster of this test's own, so stopping it disturbs no other test."""
    cluster = PostgresCluster(Path(tempfile.mkdtemp(prefix="collections-pg-"))).start()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def namespace() -> str:
    """A topic prefix and database-name stem unique to one test."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def topics(stack: Stack, namespace: str) -> str:
    """Every topic of the manifest (and its .dlq), under a prefix of this test's own."""
    prefix = f"{namespace}."
    stack.apply_topics(prefix=prefix)
    return prefix

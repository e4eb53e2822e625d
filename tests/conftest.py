"""Test session: a real Apache Kafka broker and a real PostgreSQL, started once, on loopback.

Unit and contract tests never touch them (the fixtures start lazily). Integration tests get a
fresh database and a fresh topic namespace each, so they are independent of one another.
Set KAFKA_BOOTSTRAP_SERVERS and/or POSTGRES_ADMIN_URL to use existing servers instead.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.postgres import PostgresCluster
from devstack.stack import Stack, temporary_stack

TEST_CONSUMER_SESSION = {"KAFKA_SESSION_TIMEOUT_MS": "3000", "KAFKA_HEARTBEAT_INTERVAL_MS": "1000"}
"""The consumer session of the services the tests start: a member gone silent (a worker a test
killed) leaves its group after 3 s instead of the services' default 10 s, which a restarted
worker's join otherwise waits for."""


@pytest.fixture(scope="session", autouse=True)
def consumer_session() -> Iterator[None]:
    """``TEST_CONSUMER_SESSION`` in this process's environment, which every service the tests start
    inherits, unless the tests use a broker of their own (``KAFKA_BOOTSTRAP_SERVERS``: its floor may
    be Kafka's default 6 s) or the variables are set already. The brokers the tests start accept it
    (``devstack.kafka.MIN_SESSION_TIMEOUT_MS``)."""
    with pytest.MonkeyPatch.context() as env:
        if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
            for name, value in TEST_CONSUMER_SESSION.items():
                if name not in os.environ:
                    env.setenv(name, value)
        yield


SESSION_DISK_BYTES = 4 * 1024**3
"""What the session's broker and PostgreSQL may need in the temporary directory: the whole
suite's databases and WAL reached about 3.1 GB (measured on 2026-12-02)."""


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    free = shutil.disk_usage(tempfile.gettempdir()).free
    if free < SESSION_DISK_BYTES:
        pytest.exit(
            f"only {free / 1024**3:.1f} GB free in {tempfile.gettempdir()}; the test session's broker "
            f"and database need up to {SESSION_DISK_BYTES / 1024**3:.0f} GB",
            returncode=1,
        )
    with temporary_stack("collections-test-") as started:
        yield started


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

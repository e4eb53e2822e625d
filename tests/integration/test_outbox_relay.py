"""The outbox relay on a real PostgreSQL and Kafka: each row published once, every row marked sent.

The relay marks a batch sent in the statement that reads the next one; that statement must leave
the rows it marks out of what it reads, and a relay that stops marks its last batch, so a restart
publishes nothing again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from collections_common.runtime import RUNTIME_METADATA
from collections_common.runtime.outbox import Outbox, OutboxRelay
from collections_common.runtime.tables import outbox
from collections_common.settings import ServiceSettings
from devstack.stack import Stack

pytestmark = pytest.mark.infra

TOPIC = "collections.delinquency.v1"
ROWS = 11
BATCH = 3


@pytest.fixture
async def engine(stack: Stack, namespace: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(stack.create_database(f"{namespace}_relay"))
    async with engine.begin() as conn:
        await conn.run_sync(RUNTIME_METADATA.create_all)
    yield engine
    await engine.dispose()


async def _read(stack: Stack, topic: str, count: int, timeout: float = 30) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=stack.bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        deadline = time.monotonic() + timeout
        while len(values) < count and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                values.extend(record.value or b"" for record in records)
        # anything published twice would follow soon after: read a little longer
        for records in (await consumer.getmany(timeout_ms=500)).values():
            values.extend(record.value or b"" for record in records)
    finally:
        await consumer.stop()
    return values


class _StoppingRelay(OutboxRelay):
    """Stops as soon as the last row is acknowledged, before reading again (which would mark it)."""

    def __init__(self, engine: AsyncEngine, settings: ServiceSettings, stop: asyncio.Event) -> None:
        super().__init__(engine, settings)
        self._stop = stop
        self.sent = 0

    async def publish_once(self) -> int:
        sent = await super().publish_once()
        self.sent += sent
        if self.sent >= ROWS:
            self._stop.set()
        return sent


async def test_each_row_is_published_once_and_a_stopped_relay_leaves_none_unmarked(
    stack: Stack, topics: str, engine: AsyncEngine
) -> None:
    async with AsyncSession(engine) as session, session.begin():
        box = Outbox(session)
        for n in range(ROWS):
            box.add_raw(TOPIC, f"A{n % 4}".encode(), f"event {n}".encode(), (), f"e{n}")
        await box.flush()
    settings = ServiceSettings(
        kafka_bootstrap_servers=stack.bootstrap_servers,
        kafka_topic_prefix=topics,
        kafka_consumer_group="relay-test",
        outbox_batch_size=BATCH,
        outbox_poll_interval_ms=20,
    )
    stop = asyncio.Event()
    relay = _StoppingRelay(engine, settings, stop)
    running = asyncio.create_task(relay.run(stop))
    try:
        published = await _read(stack, f"{topics}{TOPIC}", ROWS)
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)

    assert sorted(published) == sorted(f"event {n}".encode() for n in range(ROWS)), "each row once"
    async with engine.connect() as conn:
        unmarked = (
            await conn.execute(select(outbox.c.event_id).where(outbox.c.published_at.is_(None)))
        ).all()
    assert unmarked == [], "the last batch was marked sent when the relay stopped"

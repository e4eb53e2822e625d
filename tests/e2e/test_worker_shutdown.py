"""A worker whose broker and database are gone still stops on SIGTERM, well within Kubernetes'
30 s grace period (``service.SHUTDOWN_GRACE_SECONDS``)."""

from __future__ import annotations

import signal
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from devstack.stack import Stack
from tests.e2e.aging_harness import INPUT_TOPICS, AgingUnderTest, end_offsets, until

pytestmark = [pytest.mark.infra, pytest.mark.slow]

KUBERNETES_GRACE_SECONDS = 30


@pytest.fixture
def private_stack() -> Iterator[Stack]:
    """A broker and a database of this test's own, so stopping them disturbs no other test."""
    started = Stack(Path(tempfile.mkdtemp(prefix="collections-shutdown-"))).start()
    try:
        yield started
    finally:
        started.destroy()


async def test_a_worker_stops_on_sigterm_after_its_broker_and_database_are_gone(
    private_stack: Stack, tmp_path: Path
) -> None:
    namespace = f"t{uuid.uuid4().hex[:10]}"
    private_stack.apply_topics(prefix=f"{namespace}.")
    aging = AgingUnderTest(private_stack, namespace, f"{namespace}.", tmp_path).start(api=False)
    worker = aging.processes[0]
    try:
        # Records on every input (dead letters), so every consumer has positions to keep.
        producer = AIOKafkaProducer(bootstrap_servers=private_stack.bootstrap_servers)
        await producer.start()
        try:
            for topic in INPUT_TOPICS:
                await producer.send_and_wait(aging.prefix + topic, b"not json", key=b"A1")
        finally:
            await producer.stop()
        ends = await end_offsets(private_stack, [aging.prefix + topic for topic in INPUT_TOPICS])
        conn = await aging.connect()
        try:

            async def consumed() -> bool:
                rows = await conn.fetch("SELECT topic, partition, next_offset FROM consumer_positions")
                stored = {(aging.prefix + r["topic"], r["partition"]): r["next_offset"] for r in rows}
                return all(stored.get(tp, 0) >= end for tp, end in ends.items())

            await until(consumed, what="every input consumed", timeout=60)
        finally:
            await conn.close()

        private_stack.stop()  # the broker, then PostgreSQL
        assert worker.alive, worker.output()[-3000:]
        worker.stop(signal.SIGTERM, timeout=KUBERNETES_GRACE_SECONDS)  # raises if it is still running
        assert not worker.alive
    finally:
        worker.kill()

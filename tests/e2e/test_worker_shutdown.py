"""A worker whose broker and database are gone, or whose broker is frozen (it answers nothing while
its connections stay open), stops on SIGTERM by itself: each of its components
honours the stop (``ConsumerRunner.run``), none has to be cancelled after
``service.SHUTDOWN_GRACE_SECONDS``, and it exits 0, since nothing is lost (every batch is committed
whole with its positions, or not at all). The seconds it took are printed and recorded
(``seconds_to_exit``), not asserted."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from contact_service.bootstrap import OTHER_INPUTS, STAGE_CHANGES
from devstack.stack import Stack, temporary_stack
from tests.auth_tokens import StaffTokens
from tests.e2e.aging_harness import INPUT_TOPICS, AgingUnderTest, end_offsets, until
from tests.e2e.contact_stack import ContactUnderTest

pytestmark = [pytest.mark.infra, pytest.mark.slow]

KUBERNETES_GRACE_SECONDS = 30

Service = AgingUnderTest | ContactUnderTest


def aging(stack: Stack, namespace: str, logs: Path) -> Service:
    return AgingUnderTest(stack, namespace, f"{namespace}.", logs).start(api=False)


def contact(stack: Stack, namespace: str, logs: Path) -> Service:
    tokens = StaffTokens(logs / "jwks.json")
    config = {"SENDER_ENABLED": "false"}
    return ContactUnderTest(stack, namespace, f"{namespace}.", logs, tokens, config).start(api=False)


SERVICES: dict[str, tuple[Callable[[Stack, str, Path], Service], Sequence[str]]] = {
    "aging": (aging, INPUT_TOPICS),
    "contact": (contact, [str(topic) for topic in (*STAGE_CHANGES, *OTHER_INPUTS)]),
}
"""Each worker, and its input topics."""


@pytest.fixture
def private_stack() -> Iterator[Stack]:
    """A broker and a database of this test's own, so stopping them disturbs no other test."""
    with temporary_stack("collections-shutdown-") as started:
        yield started


def gone(stack: Stack) -> None:
    stack.stop()  # the broker, then PostgreSQL


def frozen(stack: Stack) -> None:
    """The broker stops answering but its connections stay open (a hung host, a long GC pause):
    every request waits for its timeout instead of failing at once."""
    assert stack.broker is not None and stack.broker.pid is not None
    os.kill(stack.broker.pid, signal.SIGSTOP)


OUTAGES = {"broker and database gone": gone, "broker frozen": frozen}


@pytest.mark.parametrize("outage", sorted(OUTAGES))
@pytest.mark.parametrize("name", sorted(SERVICES))
async def test_a_worker_stops_on_sigterm_by_itself_in_an_outage(
    private_stack: Stack,
    tmp_path: Path,
    name: str,
    outage: str,
    record_property: Callable[[str, object], None],
) -> None:
    namespace = f"t{uuid.uuid4().hex[:10]}"
    private_stack.apply_topics(prefix=f"{namespace}.")
    start, inputs = SERVICES[name]
    service = start(private_stack, namespace, tmp_path)
    worker = service.processes[0]
    try:
        # Records on every input (dead letters), so every consumer has positions to keep.
        producer = AIOKafkaProducer(bootstrap_servers=private_stack.bootstrap_servers)
        await producer.start()
        try:
            for topic in inputs:
                await producer.send_and_wait(service.prefix + topic, b"not json", key=b"A1")
        finally:
            await producer.stop()
        ends = await end_offsets(private_stack, [service.prefix + topic for topic in inputs])
        conn = await service.connect()
        try:

            async def consumed() -> bool:
                rows = await conn.fetch("SELECT topic, partition, next_offset FROM consumer_positions")
                stored = {(service.prefix + r["topic"], r["partition"]): r["next_offset"] for r in rows}
                return all(stored.get(tp, 0) >= end for tp, end in ends.items())

            await until(consumed, what="every input consumed", timeout=60)
        finally:
            await conn.close()

        OUTAGES[outage](private_stack)
        assert worker.alive, worker.output()[-3000:]
        signalled = time.monotonic()
        code = worker.stop(signal.SIGTERM, timeout=KUBERNETES_GRACE_SECONDS)  # raises if still running
        seconds = time.monotonic() - signalled
        record_property("seconds_to_exit", round(seconds, 2))
        print(f"{name} worker, {outage}: exited {code} {seconds:.2f} s after SIGTERM")
        output = worker.output()
        assert "cancelling them" not in output, "every component stopped by itself"
        assert code == 0, output[-3000:]
    finally:
        worker.kill()

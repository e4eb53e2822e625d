"""Scaling out: several workers of a service in one consumer group share its partitions. Every
account is handled by exactly one worker at a time, and a rebalance (a worker joining, another
leaving) loses nothing and doubles nothing."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from devstack._process import free_port
from devstack.stack import Stack
from tests.e2e.aging_harness import COMMANDS, AgingUnderTest
from tests.e2e.histories import emitted_changes, expected_changes, seeded_history, stage_changes
from tests.processes import ServiceProcess, wait_for_status

pytestmark = [pytest.mark.infra, pytest.mark.slow]


class TestTwoAgingWorkers:
    async def test_a_worker_joining_and_another_leaving_mid_run_lose_and_double_nothing(
        self, stack: Stack, topics: str, namespace: str, tmp_path: Path
    ) -> None:
        history = seeded_history(seed=7, accounts=60, days=90)
        expected = expected_changes(history)
        aging = AgingUnderTest(stack, namespace, topics, tmp_path).start(api=False)
        first = aging.processes[0]
        try:
            half = len(history) // 2
            await aging.publish(history[:half])
            port = free_port()
            second = ServiceProcess(
                COMMANDS["worker"], {**aging.env, "WORKER_PORT": str(port)}, tmp_path / "second-worker.log"
            ).start()
            aging.processes.append(second)
            wait_for_status(f"http://127.0.0.1:{port}/readyz", 200, proc=second)
            await aging.publish(history[half : half + half // 2])
            first.stop()  # leaves the group: its partitions move to the second worker
            await aging.publish(history[half + half // 2 :])
            await aging.settled(timeout=120)

            assert await stage_changes(aging) == expected
            assert await emitted_changes(aging) == expected
            published = [
                json.loads(value)["id"] for _, value in await aging.read_topic("collections.delinquency.v1")
            ]
            resent = {event_id for event_id, times in Counter(published).items() if times > 1}
            assert len(set(published)) == sum(map(len, expected.values())), "one event per change"
            assert not resent, "no relay published a change twice"
        finally:
            aging.stop()

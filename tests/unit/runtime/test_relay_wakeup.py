"""A relay with nothing to publish waits its poll interval, unless this process commits outbox
rows: then it publishes at once."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy.ext.asyncio import create_async_engine

from collections_common.runtime.outbox import OutboxRelay, outbox_committed
from collections_common.settings import ServiceSettings


class _Producer:
    async def stop(self) -> None:
        return None


class _CountingRelay(OutboxRelay):
    """The relay's loop with the database and the broker left out: every pass finds nothing."""

    def __init__(self, settings: ServiceSettings) -> None:
        super().__init__(create_async_engine("postgresql+asyncpg://u:p@127.0.0.1:1/none"), settings)
        self.passes: list[float] = []
        self._producer: Any = _Producer()

    async def _claim_lanes(self) -> None:
        self._lanes = {0}

    async def backlog(self) -> int:
        return 0

    async def _cleanup(self) -> None:
        return None

    async def publish_once(self) -> int:
        self.passes.append(time.monotonic())
        return 0


async def _started(relay: _CountingRelay, stop: asyncio.Event) -> asyncio.Task[None]:
    task = asyncio.create_task(relay.run(stop))
    while not relay.passes:
        await asyncio.sleep(0.01)
    return task


class TestRelayWakeUp:
    async def test_a_commit_in_the_process_makes_the_idle_relay_publish_at_once(self) -> None:
        relay = _CountingRelay(ServiceSettings(outbox_poll_interval_ms=30_000))
        stop = asyncio.Event()
        task = await _started(relay, stop)
        try:
            await asyncio.sleep(0.2)
            assert len(relay.passes) == 1, "idle: it waits its poll interval"
            committed = time.monotonic()
            outbox_committed()
            while len(relay.passes) < 2 and time.monotonic() - committed < 5:
                await asyncio.sleep(0.005)
            assert len(relay.passes) == 2
            assert relay.passes[1] - committed < 0.5
        finally:
            stop.set()
            await asyncio.wait_for(task, 5)

    async def test_without_a_commit_it_polls_at_its_interval_and_stops_at_once(self) -> None:
        relay = _CountingRelay(ServiceSettings(outbox_poll_interval_ms=100))
        stop = asyncio.Event()
        task = await _started(relay, stop)
        await asyncio.sleep(0.55)
        stop.set()
        stopped = time.monotonic()
        await asyncio.wait_for(task, 5)
        assert time.monotonic() - stopped < 0.5
        assert 3 <= len(relay.passes) <= 7

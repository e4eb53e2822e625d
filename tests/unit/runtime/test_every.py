"""``every``: the loop of the workers' periodic components (sender, expiry, promise judge, KPI gauges)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from asyncpg.exceptions import ConnectionDoesNotExistError

from collections_common.runtime import every


async def test_a_failed_tick_is_logged_and_the_next_one_runs(caplog: pytest.LogCaptureFixture) -> None:
    stop = asyncio.Event()
    failures: list[BaseException] = [
        ValueError("a bug"),
        ConnectionDoesNotExistError("the database went away"),
    ]
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        ticks += 1
        if failures:
            raise failures.pop(0)
        stop.set()

    with caplog.at_level(logging.WARNING, logger="collections_common.runtime._aio"):
        await asyncio.wait_for(every(stop, 0.001, tick, "test tick"), timeout=5)

    assert ticks == 3
    logged = [(r.levelno, r.getMessage(), r.exc_info is not None) for r in caplog.records]
    assert logged == [
        (logging.ERROR, "test tick failed", True),
        (logging.WARNING, "test tick not done, will retry: the database went away", False),
    ]


async def test_it_returns_once_stopped_without_waiting_out_the_interval() -> None:
    stop = asyncio.Event()
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        ticks += 1
        stop.set()

    await asyncio.wait_for(every(stop, 3600, tick, "test tick"), timeout=5)
    assert ticks == 1

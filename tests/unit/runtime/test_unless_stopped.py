"""``unless_stopped``: how the consumer runner's work in hand ends once the worker is stopped."""

from __future__ import annotations

import asyncio

import pytest

from collections_common.runtime import Abandoned
from collections_common.runtime._aio import unless_stopped


async def test_work_that_finishes_returns_its_result() -> None:
    async def work() -> str:
        await asyncio.sleep(0)
        return "done"

    assert await unless_stopped(asyncio.Event(), work(), grace=0.01) == "done"


async def test_work_in_hand_at_the_stop_finishes_within_the_grace() -> None:
    stop = asyncio.Event()
    finished = asyncio.Event()

    async def work() -> str:
        stop.set()
        await asyncio.sleep(0.01)
        finished.set()
        return "committed"

    assert await unless_stopped(stop, work(), grace=5) == "committed"
    assert finished.is_set()


async def test_work_still_waiting_after_the_grace_is_cancelled_and_abandoned() -> None:
    stop = asyncio.Event()
    cancelled = asyncio.Event()

    async def work() -> None:
        try:
            await asyncio.Event().wait()  # a broker that never answers
        except asyncio.CancelledError:
            cancelled.set()
            raise

    waiting = asyncio.ensure_future(unless_stopped(stop, work(), grace=0.01))
    await asyncio.sleep(0.01)
    assert not waiting.done(), "nothing ends the work before the stop"
    stop.set()
    with pytest.raises(Abandoned):
        await asyncio.wait_for(waiting, timeout=5)
    assert cancelled.is_set()


async def test_a_clean_up_that_fails_after_the_cancellation_is_abandoned_too() -> None:
    """SQLAlchemy rolling back on a connection that is gone raises its own error instead of the
    cancellation: still abandoned, not a failure of the work."""
    stop = asyncio.Event()
    stop.set()

    async def work() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise ConnectionError("cannot roll back: the connection is closed") from None

    with pytest.raises(Abandoned):
        await asyncio.wait_for(unless_stopped(stop, work(), grace=0.01), timeout=5)


async def test_work_that_completes_as_it_is_cancelled_is_not_abandoned() -> None:
    """A COMMIT the cancellation could not stop: the work finished, so its result stands."""
    stop = asyncio.Event()
    stop.set()

    async def work() -> str:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            return "committed"
        return "never"

    assert await asyncio.wait_for(unless_stopped(stop, work(), grace=0.01), timeout=5) == "committed"


async def test_an_error_of_the_work_before_the_grace_ends_is_raised_as_it_is() -> None:
    stop = asyncio.Event()
    stop.set()

    async def work() -> None:
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        await unless_stopped(stop, work(), grace=5)


async def test_a_cancelled_wait_cancels_the_work() -> None:
    cancelled = asyncio.Event()

    async def work() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    waiting = asyncio.ensure_future(unless_stopped(asyncio.Event(), work(), grace=5))
    await asyncio.sleep(0.01)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await asyncio.sleep(0)
    assert cancelled.is_set()

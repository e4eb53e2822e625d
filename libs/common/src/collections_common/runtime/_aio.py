"""Asyncio helpers of the runtime."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from collections_common.runtime.errors import is_transient

log = logging.getLogger(__name__)


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, waking early when ``stop`` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def sleep_or_wake(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, waking early when ``stop`` or ``wake`` is set."""
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def every(
    stop: asyncio.Event, seconds: float, tick: Callable[[], Awaitable[object]], what: str
) -> None:
    """Await ``tick`` every ``seconds`` until ``stop`` is set.

    A failed tick never ends the loop; the next one tries again. A transient failure (the
    database or the broker away) is logged as a warning, any other with its traceback.
    """
    while not stop.is_set():
        try:
            await tick()
        except Exception as exc:
            if is_transient(exc):
                log.warning("%s not done, will retry: %s", what, exc)
            else:
                log.exception("%s failed", what)
        await sleep_or_stop(stop, seconds)

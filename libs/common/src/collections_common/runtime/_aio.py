"""Asyncio helpers of the runtime."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from collections_common.runtime.errors import Abandoned, is_transient

log = logging.getLogger(__name__)

T = TypeVar("T")

STOP_GRACE_SECONDS = 1.0
"""Seconds the work in hand (a consumer's batch transaction, a gate's tick, the outbox relay's
batch waiting for Kafka's acknowledgement) has to finish once its component is stopped; then it
is given up (see ``ConsumerRunner.run`` and ``OutboxRelay.run``)."""


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, waking early when ``stop`` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def unless_stopped(stop: asyncio.Event, work: Awaitable[T], *, grace: float = 0.0) -> T:
    """Await ``work``; once ``stop`` is set, it has ``grace`` more seconds to finish, then it is
    cancelled and :class:`Abandoned` is raised.

    The cancellation lands wherever ``work`` waits (for a broker or a database that is gone, say),
    and its clean-up then runs (a transaction rolls back) for at most ``grace`` seconds more.
    What ``work`` returns or raises before that is returned or raised as usual, even after the
    stop: work that finished is never reported abandoned.
    """
    task = asyncio.ensure_future(work)
    try:
        if not stop.is_set():
            stopping = asyncio.ensure_future(stop.wait())
            try:
                await asyncio.wait([task, stopping], return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopping.cancel()
        if not task.done():
            await asyncio.wait([task], timeout=grace)
        if not task.done():
            task.cancel()
            await asyncio.wait([task], timeout=grace)
            if not task.done() or task.cancelled():
                raise Abandoned("stopped while waiting")
            if task.exception() is not None:
                raise Abandoned("stopped while waiting") from task.exception()
        return task.result()
    finally:
        if not task.done():  # this wait was cancelled itself, or the clean-up outlived the grace
            task.cancel()


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

"""Retrying transient failures with backoff: the same work again, never skipped."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from collections_common.metrics import TRANSIENT_FAILURES
from collections_common.runtime._aio import sleep_or_stop, unless_stopped
from collections_common.runtime.errors import Abandoned, RunnerControl, is_transient

log = logging.getLogger(__name__)


class Backoff:
    """Doubling delays from ``first`` up to ``most`` seconds."""

    def __init__(self, first: float = 0.2, most: float = 5.0) -> None:
        self._next = first
        self._most = most

    def next(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self._most)
        return delay


async def retrying(
    work: Callable[[], Awaitable[object]],
    stop: asyncio.Event,
    *,
    consumer: str,
    component: str,
    fallback: Callable[[Exception], Awaitable[object]] | None = None,
    grace: float = 0.0,
) -> None:
    """Run ``work`` until it succeeds.

    A transient failure backs off and runs it again (counted in ``TRANSIENT_FAILURES``); when
    ``stop`` is set meanwhile, :class:`Abandoned` is raised. A run of ``work`` still going
    ``grace`` seconds after ``stop`` is set is cancelled, and :class:`Abandoned` raised too
    (:func:`unless_stopped`). Any other failure goes to ``fallback`` (or is raised without one);
    the runner's own control errors (:class:`RunnerControl`) pass through untouched.
    """
    backoff = Backoff()
    while True:
        try:
            await unless_stopped(stop, work(), grace=grace)
            return
        except RunnerControl:
            raise
        except Exception as exc:
            if is_transient(exc):
                TRANSIENT_FAILURES.labels(consumer, component).inc()
                log.warning("%s paused, will retry: %s", component, exc)
                if stop.is_set():
                    raise Abandoned from exc
                await sleep_or_stop(stop, backoff.next())
                continue
            if fallback is None:
                raise
            log.exception("%s failed; retrying event by event", component)
            await fallback(exc)
            return

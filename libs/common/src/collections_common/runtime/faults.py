"""Crash and delay points: built-in test seams for the crash-safety and ordering tests.

``crash_point("relay.after_publish")`` kills the process with SIGKILL when the environment
variable ``COLLECTIONS_CRASH_AT`` names that point (optionally ``point:N`` to crash on the Nth
pass). In production the variable is unset and a crash point costs one dict lookup.

``await delay_point("calendar.before_note")`` sleeps when ``COLLECTIONS_DELAY_AT`` is
``calendar.before_note:SECONDS``: a component held back, as a lagging consumer would be.
"""

from __future__ import annotations

import asyncio
import os
import signal

_ENV = "COLLECTIONS_CRASH_AT"
_DELAY_ENV = "COLLECTIONS_DELAY_AT"
_passes: dict[str, int] = {}


def crash_point(name: str) -> None:
    wanted = os.environ.get(_ENV)
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    if point != name:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


async def delay_point(name: str) -> None:
    wanted = os.environ.get(_DELAY_ENV)
    if not wanted:
        return
    point, _, seconds = wanted.partition(":")
    if point == name:
        await asyncio.sleep(float(seconds or 1))

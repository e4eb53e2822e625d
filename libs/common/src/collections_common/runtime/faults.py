"""Crash points: a built-in test seam for the crash-safety tests.

``crash_point("relay.after_publish")`` kills the process with SIGKILL when the environment
variable ``COLLECTIONS_CRASH_AT`` names that point (optionally ``point:N`` to crash on the Nth
pass). In production the variable is unset and a crash point costs one dict lookup.
"""

from __future__ import annotations

import os
import signal

_ENV = "COLLECTIONS_CRASH_AT"
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

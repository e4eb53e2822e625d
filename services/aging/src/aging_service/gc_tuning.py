"""Garbage-collector tuning of the aging worker, measured on aging's benchmark."""

from __future__ import annotations

import gc

GC_YOUNG_THRESHOLD = 50_000
"""Allocations between two collections of the young generation in a worker (Python's default: 700)."""


def tune_garbage_collection() -> None:
    """Collect less often in a long-running worker.

    A batch allocates and drops many small objects (decoded events, books, rows). With Python's
    default thresholds aging's benchmark ran about 2,500 collections, and its full passes
    alone took 1.1 s of an 11 s run (docs/benchmarks.md). What start-up created lives as long as
    the process, so it is frozen out of every later collection; the young generation is then
    collected every ``GC_YOUNG_THRESHOLD`` allocations, the middle one every 20 of those and the
    oldest every 20 of the middle ones (measured with it: 0.33 s of collections in the worker's
    whole life during one benchmark run).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)

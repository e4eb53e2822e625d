"""Garbage-collector tuning of a worker process, measured on aging's and contact's benchmarks."""

from __future__ import annotations

import gc

GC_YOUNG_THRESHOLD = 50_000
"""Allocations between two collections of the young generation in a worker (Python's default: 700)."""


def tune_garbage_collection() -> None:
    """Collect less often in a long-running worker (a service's ``on_worker_start``).

    A batch allocates and drops many small objects (decoded events, books, cases, rows). With
    Python's default thresholds aging's throughput benchmark ran about 2,500 collections, and their
    full passes alone took 1.1 s of an 11 s run; the contact worker's cancellation path at 1,000
    payments a second gave p99 186-794 ms (median 459) with these thresholds against 569-1,033
    ms (median 648) without them, five alternating runs each (docs/benchmarks.md). What start-up
    created lives as long as the process, so it is frozen out of every later collection; the
    young generation is then collected every ``GC_YOUNG_THRESHOLD`` allocations, the middle one
    every 20 of those and the oldest every 20 of the middle ones.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)

"""Garbage-collector tuning of a worker process, measured on aging's and contact's benchmarks."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

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


_pausing = 0
"""How many batches are running with the collector paused (it runs again when the last ends)."""


@contextmanager
def collection_paused() -> Iterator[None]:
    """Run the block (one poll's batch) without the cyclic garbage collector.

    A batch keeps what it loads and builds until it commits (and each step's decoded events until
    the step is handled), so a young-generation collection in the middle of it frees almost
    nothing and walks everything made so far: in aging's catch-up benchmark 5 to 9 such
    collections took 95-140 ms of the worker's CPU. Once the batch is gone, reference counting has
    freed what it made and the collector runs again as before. Batches of several consumers of a
    process may overlap: the collector runs again when the last ends, and a batch ending while
    others run does at once what the collector would have done by then, so it is never held off
    for longer than one batch.
    """
    global _pausing
    if _pausing == 0 and not gc.isenabled():
        yield  # paused by someone else: theirs to resume
        return
    _pausing += 1
    gc.disable()
    try:
        yield
    finally:
        _pausing -= 1
        if _pausing == 0:
            gc.enable()
        else:
            _collect_if_due()


def _collect_if_due() -> None:
    """Collect the oldest generation whose count has passed its threshold, as the collector
    does on an allocation when it is enabled."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    for generation in (2, 1, 0):
        if thresholds[generation] and counts[generation] > thresholds[generation]:
            gc.collect(generation)
            return

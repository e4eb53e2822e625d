"""A worker's garbage collector: start-up objects frozen out of collections, young ones rarer."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from collections_common.runtime.gc_tuning import (
    GC_YOUNG_THRESHOLD,
    collection_paused,
    tune_garbage_collection,
)


@pytest.fixture
def restored() -> Iterator[None]:
    threshold = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
        gc.enable()


@pytest.mark.usefixtures("restored")
def test_start_up_objects_are_frozen_and_the_young_generation_is_collected_less_often() -> None:
    tune_garbage_collection()

    assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, 20, 20)
    assert gc.get_freeze_count() > 0


class _Cycle:
    """An object that only the cyclic collector can free (it refers to itself)."""

    def __init__(self) -> None:
        self.me = self


def _garbage_cycle() -> weakref.ref[_Cycle]:
    return weakref.ref(_Cycle())


@pytest.mark.usefixtures("restored")
def test_the_collector_is_paused_for_a_batch_and_runs_again_after_it() -> None:
    assert gc.isenabled()
    with collection_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


@pytest.mark.usefixtures("restored")
def test_overlapping_batches_resume_the_collector_when_the_last_one_ends() -> None:
    first, second = collection_paused(), collection_paused()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled(), "the second batch is still running"
    second.__exit__(None, None, None)
    assert gc.isenabled()


@pytest.mark.usefixtures("restored")
def test_a_batch_ending_while_another_runs_collects_what_is_due() -> None:
    gc.set_threshold(100, 10, 10)
    gc.collect()
    with collection_paused():
        with collection_paused():
            cycle = _garbage_cycle()
            for _ in range(300):  # past the young generation's threshold
                _garbage_cycle()
            assert cycle() is not None, "paused: nothing collects the cycle yet"
        assert cycle() is None, "the inner batch's end collected the young generation"
        assert not gc.isenabled(), "the outer batch is still running"


@pytest.mark.usefixtures("restored")
def test_a_collector_paused_by_someone_else_stays_paused() -> None:
    gc.disable()
    try:
        with collection_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()

"""A worker's garbage collector: start-up objects frozen out of collections, young ones rarer."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from collections_common.runtime.gc_tuning import GC_YOUNG_THRESHOLD, tune_garbage_collection


@pytest.fixture
def restored() -> Iterator[None]:
    threshold = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored")
def test_start_up_objects_are_frozen_and_the_young_generation_is_collected_less_often() -> None:
    tune_garbage_collection()

    assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, 20, 20)
    assert gc.get_freeze_count() > 0

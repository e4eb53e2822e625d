"""An API process leaves what start-up created out of later garbage collections."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from collections_common.service import freeze_startup_objects


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_the_objects_alive_at_start_up_are_frozen(unfrozen: None) -> None:
    assert gc.get_freeze_count() == 0
    survivor = [object() for _ in range(1000)]
    freeze_startup_objects()
    assert gc.get_freeze_count() >= len(survivor)

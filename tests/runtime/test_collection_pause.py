"""A poll's batch is applied with the cyclic garbage collector paused, which runs again after it
(``collections_common.runtime.gc_tuning.collection_paused``)."""

from __future__ import annotations

import gc

import pytest

from collections_common.runtime import Batch
from tests.runtime.harness import INPUT, Ledger, applying_in_process, payments, produce_payments
from tests.runtime.ledger_service import handle

pytestmark = [pytest.mark.infra]


async def test_the_collector_is_paused_while_a_batch_is_applied_and_runs_again_after(ledger: Ledger) -> None:
    collecting: list[bool] = []  # per batch: was the collector enabled while it was applied

    async def recording(batch: Batch) -> None:
        collecting.append(gc.isenabled())
        await handle(batch)

    sent = payments(20)
    await produce_payments(ledger.bootstrap, ledger.prefix + INPUT, sent)
    async with applying_in_process(ledger, recording, len(sent)):
        assert gc.isenabled(), "between batches the collector runs"

    assert collecting and not any(collecting), "every batch was applied with the collector paused"
    assert gc.isenabled()

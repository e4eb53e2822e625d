"""A poll's batch is applied with the cyclic garbage collector paused, which runs again after it
(``collections_common.runtime.gc_tuning.collection_paused``)."""

from __future__ import annotations

import gc

import pytest

from collections_common.database import create_engine
from collections_common.runtime import Batch, ConsumerRunner
from tests.runtime.harness import INPUT, Ledger, payments, produce_payments, running_until_applied
from tests.runtime.ledger_service import CONSUMER_NAME, handle

pytestmark = [pytest.mark.infra]


async def test_the_collector_is_paused_while_a_batch_is_applied_and_runs_again_after(ledger: Ledger) -> None:
    settings = ledger.settings()
    engine = create_engine(settings, pre_ping=False)
    collecting: list[bool] = []  # per batch: was the collector enabled while it was applied

    async def recording(batch: Batch) -> None:
        collecting.append(gc.isenabled())
        await handle(batch)

    runner = ConsumerRunner(
        settings=settings, engine=engine, topics=[INPUT], handler=recording, name=CONSUMER_NAME
    )
    sent = payments(20)
    await produce_payments(ledger.bootstrap, ledger.prefix + INPUT, sent)
    try:
        async with running_until_applied(runner, ledger.database_url, len(sent)):
            assert gc.isenabled(), "between batches the collector runs"
    finally:
        await engine.dispose()

    assert collecting and not any(collecting), "every batch was applied with the collector paused"
    assert gc.isenabled()

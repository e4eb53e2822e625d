"""A database outage pauses the worker; it neither dies nor skips, loses or doubles anything."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from devstack.postgres import PostgresCluster
from tests.runtime.harness import (
    INPUT,
    OUTBOX_BATCH_SIZE,
    Ledger,
    assert_output_matches,
    expected_balances,
    metric_total,
    payments,
    produce_payments,
    read_output,
)

pytestmark = [pytest.mark.infra, pytest.mark.slow]

OUTAGE_SECONDS = 5.0


async def test_the_worker_rides_out_a_database_outage_and_applies_everything_exactly_once(
    private_ledger: Ledger,
    private_postgres: PostgresCluster,
    record_property: Callable[[str, object], None],
) -> None:
    """PostgreSQL stops for ~5 s while payments keep arriving. The worker stays up, counts the
    failures as transient (``collections_transient_failures_total``) and, once the database is
    back, applies every payment exactly once and publishes every outbound event. A relay cut off
    between Kafka's acknowledgement and marking its rows sent may publish that batch again."""
    ledger = private_ledger
    topic = f"{ledger.prefix}{INPUT}"
    before, during, after = (
        payments(200, start=0),
        payments(200, start=200),
        payments(200, start=400),
    )
    worker = ledger.start_worker()
    transient_before = metric_total(await worker.metrics(), "collections_transient_failures_total")

    await produce_payments(ledger.bootstrap, topic, before)
    await ledger.wait_until("some payments applied", lambda s: len(s.applied) >= 100, worker=worker)
    private_postgres.stop()
    down_since = time.monotonic()
    try:
        await produce_payments(ledger.bootstrap, topic, during)
        await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_since)))
        assert worker.alive, f"the worker died without its database:\n{worker.output()[-3000:]}"
        transient_during = metric_total(await worker.metrics(), "collections_transient_failures_total")
    finally:
        private_postgres.start()
    outage = time.monotonic() - down_since
    await produce_payments(ledger.bootstrap, topic, after)

    final = await ledger.wait_until_drained(worker=worker, timeout=120)
    transient_after = metric_total(await worker.metrics(), "collections_transient_failures_total")
    assert await worker.stop_gracefully() == 0, "the worker is still healthy and stops cleanly"

    stream = before + during + after
    assert final.over_applied == {}
    assert set(final.applied) == {p.id for p in stream}
    assert final.balances == expected_balances(stream)
    assert final.outbox_ids_written_twice == {}
    output = await read_output(ledger.bootstrap, ledger.prefix)
    assert_output_matches(output, stream)
    record_property("outage_seconds", round(outage, 1))
    record_property("transient_failures", transient_after - transient_before)
    record_property("output_duplicates", output.duplicates)
    print(
        f"\n[database outage {outage:.1f}s] transient failures counted: "
        f"{transient_during - transient_before:g} during, {transient_after - transient_before:g} in all; "
        f"raw duplicates on the output topic: {output.duplicates}"
    )
    assert transient_during > transient_before, "the worker counted the outage as transient failures"
    assert output.duplicates <= OUTBOX_BATCH_SIZE

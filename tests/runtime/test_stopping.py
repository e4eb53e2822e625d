"""Stopping a healthy worker with SIGTERM: the batch in hand is finished (or, when it runs past
``STOP_GRACE_SECONDS``, rolled back), the worker exits 0, and after a restart every payment
is applied exactly once; Kafka's committed offsets are brought up to the stored positions on the
way out."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from collections_common.runtime._aio import STOP_GRACE_SECONDS
from tests.runtime.harness import (
    CONSUMER_BATCH_MAX,
    INPUT,
    Ledger,
    assert_output_matches,
    end_offsets,
    expected_balances,
    group_offsets,
    payments,
    produce_payments,
    read_output,
)

pytestmark = [pytest.mark.infra, pytest.mark.slow]

PAYMENTS = 480
ABANDONED = "stopping without the work in hand"


@pytest.mark.parametrize(
    ("batch_delay", "abandoned"),
    [
        pytest.param(0.1, False, id="batch-in-hand-finished"),
        pytest.param(STOP_GRACE_SECONDS + 4, True, id="batch-in-hand-rolled-back"),
    ],
)
async def test_a_worker_stopped_mid_stream_and_restarted_applies_every_payment_exactly_once(
    ledger: Ledger, batch_delay: float, abandoned: bool, record_property: Callable[[str, object], None]
) -> None:
    """Each batch takes ``batch_delay`` seconds longer in its transaction, so the SIGTERM lands
    mid-stream, most likely with a batch in hand: within the grace it is committed, past it the
    transaction is rolled back and the batch read again by the restarted worker."""
    stream = payments(PAYMENTS)
    await produce_payments(ledger.bootstrap, f"{ledger.prefix}{INPUT}", stream)

    worker = ledger.start_worker(delay_at=f"ledger.handle:{batch_delay}")
    await ledger.wait_until(
        "a first batch applied", lambda s: len(s.applied) >= CONSUMER_BATCH_MAX, worker=worker, timeout=90
    )
    signalled = time.monotonic()
    code = await worker.stop_gracefully()
    seconds = time.monotonic() - signalled
    at_stop = await ledger.state()
    print(f"stopped {seconds:.2f} s after SIGTERM, exit {code}, {len(at_stop.applied)} applied")
    record_property("seconds_to_exit", round(seconds, 2))
    record_property("applied_at_stop", len(at_stop.applied))
    assert code == 0, worker.output()[-3000:]
    assert len(at_stop.applied) < PAYMENTS, "stopped mid-stream"
    assert at_stop.over_applied == {}
    assert (ABANDONED in worker.output()) == abandoned, worker.output()[-3000:]

    restarted = ledger.start_worker()
    final = await ledger.wait_until_drained(worker=restarted, timeout=120)
    assert await restarted.stop_gracefully() == 0

    assert final.over_applied == {}, "no payment was applied twice"
    assert set(final.applied) == {p.id for p in stream}, "every payment was applied"
    assert final.balances == expected_balances(stream)
    assert final.outbox_ids_written_twice == {}
    output = await read_output(ledger.bootstrap, ledger.prefix)
    assert output.duplicates == 0, "a graceful stop publishes nothing twice"
    assert_output_matches(output, stream)


async def test_a_normal_stop_commits_the_stored_positions_to_kafka(ledger: Ledger) -> None:
    """With commits otherwise an hour apart, only the first batch's positions reach Kafka while the
    worker runs; the stop commits the rest."""
    topic = f"{ledger.prefix}{INPUT}"
    await produce_payments(ledger.bootstrap, topic, payments(3 * CONSUMER_BATCH_MAX, accounts=1))
    ends = {p: o for p, o in (await end_offsets(ledger.bootstrap, topic)).items() if o}

    worker = ledger.start_worker(KAFKA_COMMIT_INTERVAL_SECONDS="3600")
    drained = await ledger.wait_until_drained(worker=worker, timeout=60)
    running = await group_offsets(ledger.bootstrap, ledger.group, topic)
    assert all(running.get(p, 0) < end for p, end in ends.items()), "only the first batch is committed yet"

    assert await worker.stop_gracefully() == 0
    assert await group_offsets(ledger.bootstrap, ledger.group, topic) == drained.positions == ends

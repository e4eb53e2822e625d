"""Stopping a worker with SIGTERM: the batch in hand is finished (or, when it runs past
``STOP_GRACE_SECONDS``, rolled back), the worker exits 0, and after a restart every payment
is applied exactly once; Kafka's committed offsets are brought up to the stored positions on the
way out. A relay whose broker died while it published gives up the batch Kafka has not
acknowledged, unmarked, and the worker exits 0 all the same."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from collections_common.runtime._aio import STOP_GRACE_SECONDS
from devstack.stack import Stack, temporary_stack
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
from tests.runtime.ledger_service import outbound_id

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


RELAYED = 1000
RELAY_BATCH = 1
"""Rows of the relay's batches here: one, so publishing the backlog takes a thousand round trips
to Kafka and the database, far longer than the test takes to see it start (it looks every
``RELAY_SEEN_EVERY``) and kill the broker. With five rows a batch, on an idle machine, the relay
once published the whole backlog before the broker died."""
RELAY_SEEN_EVERY = 0.02
UNACKNOWLEDGED = "stopping with the batch in hand not acknowledged by Kafka"


@pytest.fixture
def broker_ledger(namespace: str, tmp_path: Path) -> Iterator[tuple[Ledger, Stack]]:
    """A migrated ledger on a broker (and a database) of this test's own, so killing the broker
    disturbs no other test."""
    with temporary_stack("collections-relaystop-") as private:
        assert private.broker is not None
        # Restarted after its kill, the broker's controller fences the registration the broker
        # had before (until then the broker cannot register again) once its session times out:
        # after 2 s instead of Kafka's default 9 s.
        private.broker.config |= {"broker.session.timeout.ms": "2000", "broker.heartbeat.interval.ms": "500"}
        private.apply_topics(prefix=f"{namespace}.")
        deployed = Ledger(
            bootstrap=private.bootstrap_servers,
            prefix=f"{namespace}.",
            database_url=private.create_database("ledger"),
            group=f"{namespace}-ledger",
            logs=tmp_path,
        )
        deployed.migrate()
        try:
            yield deployed, private
        finally:
            deployed.kill_all()


async def test_a_worker_whose_broker_dies_while_its_relay_publishes_stops_and_the_batch_is_published_later(
    broker_ledger: tuple[Ledger, Stack], record_property: Callable[[str, object], None]
) -> None:
    """The broker is killed while the relay publishes a backlog, so the relay waits for Kafka's
    acknowledgement of a batch that never comes (an idempotent producer retries it for as long as
    the broker is gone). SIGTERM: the relay gives that wait the stop's grace, then gives up
    without marking the batch, and the worker exits 0 by itself. After a restart with the broker
    back, every row is published; only rows of that unacknowledged batch may be there twice."""
    ledger, private = broker_ledger
    stream = payments(RELAYED)
    await produce_payments(ledger.bootstrap, f"{ledger.prefix}{INPUT}", stream)
    async with ledger.outbox_lanes_held():  # the backlog builds up before the relay may publish
        worker = ledger.start_worker(OUTBOX_BATCH_SIZE=str(RELAY_BATCH))
        await ledger.wait_until(
            "every payment applied", lambda s: len(s.applied) == RELAYED, worker=worker, timeout=120
        )
    await ledger.wait_until(
        "the relay publishing",
        lambda s: s.pending_outbox < RELAYED,
        worker=worker,
        timeout=30,
        interval=RELAY_SEEN_EVERY,
    )
    broker = private.broker
    assert broker is not None
    broker.kill()
    await asyncio.sleep(1)  # a relay that had its batch acknowledged just before sends the next one
    assert worker.alive, worker.output()[-3000:]

    signalled = time.monotonic()
    code = await worker.stop_gracefully()
    seconds = time.monotonic() - signalled
    unpublished = await ledger.unpublished()
    print(f"stopped {seconds:.2f} s after SIGTERM, exit {code}, {len(unpublished)} rows unpublished")
    record_property("seconds_to_exit", round(seconds, 2))
    output = worker.output()
    assert "cancelling them" not in output, "every component stopped by itself"
    assert code == 0, output[-3000:]
    assert UNACKNOWLEDGED in output, "the relay was waiting for Kafka when it was stopped"
    assert unpublished, "the relay had rows left to publish when the broker died"

    broker.start()
    first_run = await read_output(ledger.bootstrap, ledger.prefix)
    assert first_run.duplicates == 0, "the first relay published each row once"
    marked = {outbound_id(p.id) for p in stream} - unpublished
    assert marked <= set(first_run.ids), "no row is marked published before Kafka acknowledged it"
    # Rows Kafka wrote without acknowledging them before it died: of the batch the relay gave up.
    unacknowledged = set(first_run.ids) & unpublished
    restarted = ledger.start_worker(OUTBOX_BATCH_SIZE=str(RELAY_BATCH))
    final = await ledger.wait_until_drained(worker=restarted, timeout=120)
    assert await restarted.stop_gracefully() == 0
    assert final.over_applied == {}
    published = await read_output(ledger.bootstrap, ledger.prefix)
    assert_output_matches(published, stream)
    twice = {event_id for event_id, times in published.ids.items() if times > 1}
    print(f"{published.duplicates} duplicates after the restart")
    record_property("duplicates", published.duplicates)
    assert twice == unacknowledged, "only rows of the batch given up unacknowledged are there twice"
    assert len(unacknowledged) <= RELAY_BATCH
    assert max(published.ids.values()) <= 2

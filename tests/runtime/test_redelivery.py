"""Redelivery: an event seen again (same source and id) is not applied again, and Kafka's
committed offsets do not decide where the worker resumes: the positions in its database do."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.runtime.harness import (
    INPUT,
    Ledger,
    assert_output_matches,
    commit_group_offsets,
    end_offsets,
    expected_balances,
    metric_total,
    payments,
    produce_payments,
    read_output,
)
from tests.runtime.ledger_service import CONSUMER_NAME

pytestmark = [pytest.mark.infra, pytest.mark.slow]

DUPLICATES = "collections_events_duplicate_total"
STARTED = "collections_consumer_started_timestamp_seconds"


async def test_a_redelivered_event_is_applied_once_and_a_fresh_consumer_group_resumes_from_the_database(
    ledger: Ledger,
) -> None:
    """Phase 1: payments, one produced twice in a row and one again later, are applied once each.
    Phase 2: with the worker stopped, more payments arrive (new ones and copies of old ones);
    the worker restarts in a *fresh* consumer group, which has no offsets in Kafka and would read
    from the beginning. It seeks to the positions stored under its fixed name instead: it sees
    only the records produced since (its duplicate counter counts only the copies among them),
    applies the new payments once and re-applies nothing."""
    topic = f"{ledger.prefix}{INPUT}"
    first = payments(200, start=0)
    first_copies = [first[5], first[17]]
    await produce_payments(ledger.bootstrap, topic, [*first[:6], first[5], *first[6:], first[17]])

    launched = time.time()
    worker = ledger.start_worker()
    state = await ledger.wait_until_drained(worker=worker, timeout=60)
    duplicates_seen = await worker.settled_metric(DUPLICATES, len(first_copies), consumer=CONSUMER_NAME)
    first_start = metric_total(await worker.metrics(), STARTED, consumer=CONSUMER_NAME)
    assert await worker.stop_gracefully() == 0
    assert launched < first_start < time.time(), "the consumer's start is not exported"
    assert state.over_applied == {}
    assert set(state.applied) == {p.id for p in first}
    assert state.balances == expected_balances(first)
    assert duplicates_seen == len(first_copies)

    second = payments(100, start=200)
    second_copies = [first[3], first[150], second[50]]
    await produce_payments(ledger.bootstrap, topic, [*second[:60], *second_copies, *second[60:]])

    worker = ledger.start_worker(group=f"{ledger.group}-fresh")
    state = await ledger.wait_until_drained(worker=worker, timeout=60)
    duplicates_seen = await worker.settled_metric(DUPLICATES, len(second_copies), consumer=CONSUMER_NAME)
    second_start = metric_total(await worker.metrics(), STARTED, consumer=CONSUMER_NAME)
    assert await worker.stop_gracefully() == 0

    assert second_start > first_start, "the restarted consumer's start is not exported"

    assert duplicates_seen == len(second_copies), "the fresh group did not re-read the first phase"
    assert state.over_applied == {}
    assert set(state.applied) == {p.id for p in first + second}
    assert state.balances == expected_balances(first + second)
    assert state.outbox_ids_written_twice == {}
    assert state.consumers == {CONSUMER_NAME}, "positions are kept by the runner's name, not by group"
    output = await read_output(ledger.bootstrap, ledger.prefix)
    assert output.duplicates == 0
    assert_output_matches(output, first + second)


async def test_kafka_offsets_ahead_of_the_database_do_not_make_the_worker_skip_anything(
    ledger: Ledger,
) -> None:
    """The database is what was applied, Kafka's offsets are only for monitoring: when the group's
    committed offsets are ahead of the stored positions (a database restored from a backup, an
    operator's ``--reset-offsets --to-latest``), the restarted worker still applies every record
    from its stored positions on, and nothing twice. This holds even when reading the stored
    positions is slow (here: blocked behind a table lock) while Kafka already delivers records
    from the committed offsets."""
    topic = f"{ledger.prefix}{INPUT}"
    first = payments(120, start=0)
    await produce_payments(ledger.bootstrap, topic, first)
    worker = ledger.start_worker()
    await ledger.wait_until_drained(worker=worker, timeout=60)
    assert await worker.stop_gracefully() == 0

    second = payments(240, start=120)
    await produce_payments(ledger.bootstrap, topic, second)
    ends = await end_offsets(ledger.bootstrap, topic)
    ahead = {partition: max(0, end - 5) for partition, end in ends.items()}
    await commit_group_offsets(ledger.bootstrap, ledger.group, topic, ahead)

    async with ledger.positions_locked():
        worker = ledger.start_worker()
        await ledger.wait_for_lock_waiter(worker=worker, timeout=60)
        await asyncio.sleep(2)  # Kafka's fetcher meanwhile delivers records from the committed offsets
    state = await ledger.wait_until_drained(worker=worker, timeout=60)
    assert await worker.stop_gracefully() == 0
    assert state.over_applied == {}
    missing = sorted({p.id for p in first + second} - set(state.applied))
    assert missing == [], f"{len(missing)} payments skipped"
    assert state.balances == expected_balances(first + second)
    assert_output_matches(await read_output(ledger.bootstrap, ledger.prefix), first + second)

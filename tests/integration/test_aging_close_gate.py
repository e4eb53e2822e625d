"""The aging close gate on its own (a real PostgreSQL, a real broker for the calendar's end):
it applies a close to a partition once the consumer's stored positions reach the close's
barriers, holds the records at or past them until then, applies closes in date order, and holds
every billing and payment record while the calendar reader is behind the calendar's end; and it
splits a batch in hand at every close the batch lets a partition pass."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from aging_service.adapters.orm import business_day_closes, partition_clocks
from aging_service.adapters.repository import note_closes
from aging_service.barrier import (
    BarrierLocator,
    CalendarReader,
    CloseBarrier,
    CloseStamp,
    calendar_reader_name,
)
from aging_service.bootstrap import SERVICE
from aging_service.handlers import AgingHandlers
from aging_service.settings import AgingSettings
from collections_common.runtime import Outbox
from collections_common.runtime.log_clock import LogClock, LogTimeMisconfigured
from devstack.stack import Stack
from tests.integration.driver_queries import sent_to_driver

pytestmark = [pytest.mark.infra]

ACCOUNTS, BILLING, PAYMENTS = "corebank.accounts.v1", "corebank.billing.v1", "corebank.payments.v1"
OWNED = [(BILLING, 0), (PAYMENTS, 0), (BILLING, 1), (PAYMENTS, 1)]
D1, D2, D3 = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)


@pytest.fixture
def settings(stack: Stack, namespace: str, topics: str) -> AgingSettings:
    database = f"{namespace}_aging"
    stack.create_database(database)
    settings = AgingSettings(
        database_url=stack.database_url(database),
        kafka_bootstrap_servers=stack.bootstrap_servers,
        kafka_topic_prefix=topics,
    )
    SERVICE.migrate(settings)
    return settings


@pytest.fixture
async def gate(settings: AgingSettings) -> AsyncIterator[CloseBarrier]:
    gate = CloseBarrier(AgingHandlers(settings.policy, settings.source), settings)
    try:
        yield gate
    finally:
        await gate.close()


async def note(engine: AsyncEngine, day: date, barrier: dict[str, dict[str, int]]) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            business_day_closes.insert().values(business_date=day, event_id=f"close-{day}", barrier=barrier)
        )


async def store(engine: AsyncEngine, consumer: str, positions: dict[tuple[str, int], int]) -> None:
    async with engine.begin() as conn:
        for (topic, partition), offset in positions.items():
            await conn.execute(
                text(
                    "INSERT INTO consumer_positions (consumer, topic, partition, next_offset)"
                    " VALUES (:c, :t, :p, :o) ON CONFLICT (consumer, topic, partition)"
                    " DO UPDATE SET next_offset = EXCLUDED.next_offset"
                ),
                {"c": consumer, "t": topic, "p": partition, "o": offset},
            )


async def tick(engine: AsyncEngine, gate: CloseBarrier) -> dict[int, date]:
    """One tick in a transaction of its own; the partitions' closed-through dates after it."""
    async with AsyncSession(engine) as session, session.begin():
        await gate.tick(session, OWNED)
    return await closed_through(engine)


async def closed_through(engine: AsyncEngine) -> dict[int, date]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(partition_clocks.c.partition, partition_clocks.c.closed_through))
        return {row.partition: row.closed_through for row in rows}


def due_reads(sent: list[str]) -> list[str]:
    """The reads of stored due books among the statements ``sent``."""
    return [sql for sql in sent if "accounts.next_change_on <=" in sql]


def holds(gate: CloseBarrier) -> dict[tuple[str, int], int | None]:
    return {owned: gate.hold_from(*owned) for owned in OWNED}


class TestTheCloseGate:
    async def test_with_no_close_noted_nothing_is_held(self, engine: AsyncEngine, gate: CloseBarrier) -> None:
        assert await tick(engine, gate) == {}
        assert set(holds(gate).values()) == {None}

    async def test_a_close_waits_for_its_barrier_and_holds_what_came_after_it(
        self, engine: AsyncEngine, gate: CloseBarrier, settings: AgingSettings
    ) -> None:
        await note(engine, D1, {BILLING: {"0": 5, "1": 0}, PAYMENTS: {"0": 3, "1": 2}})
        await store(engine, settings.consumer_group, {(BILLING, 0): 2, (PAYMENTS, 0): 3, (PAYMENTS, 1): 2})

        assert await tick(engine, gate) == {1: D1}, "partition 1 has read up to its barrier; 0 has not"
        assert holds(gate) == {(BILLING, 0): 5, (PAYMENTS, 0): 3, (BILLING, 1): None, (PAYMENTS, 1): None}

        await store(engine, settings.consumer_group, {(BILLING, 0): 5})
        assert await tick(engine, gate) == {0: D1, 1: D1}
        assert set(holds(gate).values()) == {None}

    async def test_closes_apply_in_date_order_each_at_its_own_barrier(
        self, engine: AsyncEngine, gate: CloseBarrier, settings: AgingSettings
    ) -> None:
        await note(engine, D2, {BILLING: {"0": 9, "1": 0}, PAYMENTS: {"0": 9, "1": 0}})
        await note(engine, D1, {BILLING: {"0": 4, "1": 0}, PAYMENTS: {"0": 4, "1": 0}})
        await store(engine, settings.consumer_group, {(BILLING, 0): 6, (PAYMENTS, 0): 4})

        assert await tick(engine, gate) == {0: D1, 1: D2}
        assert holds(gate)[(BILLING, 0)] == 9 and holds(gate)[(PAYMENTS, 0)] == 9

    async def test_a_tick_applying_several_closes_reads_the_stored_due_books_once(
        self, engine: AsyncEngine, gate: CloseBarrier
    ) -> None:
        for day in (D1, D2, D3):
            await note(engine, day, {BILLING: {"0": 0, "1": 0}, PAYMENTS: {"0": 0, "1": 0}})
        async with AsyncSession(engine) as session, session.begin(), sent_to_driver(session) as sent:
            await gate.tick(session, OWNED)

        assert await closed_through(engine) == {0: D3, 1: D3}, "the three closes applied in one tick"
        assert len(due_reads(sent)) == 1, "the first read the stored books due by the last"

    async def test_while_the_calendar_reader_is_behind_every_record_is_held_and_no_close_applied(
        self, engine: AsyncEngine, gate: CloseBarrier, settings: AgingSettings, stack: Stack
    ) -> None:
        await note(engine, D1, {BILLING: {"0": 0, "1": 0}, PAYMENTS: {"0": 0, "1": 0}})
        await store(engine, settings.consumer_group, {(BILLING, 0): 7, (PAYMENTS, 1): 1})
        producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap_servers)
        await producer.start()
        try:  # a close the reader has not read yet
            await producer.send_and_wait(settings.topic("corebank.calendar.v1"), b"{}", key=b"calendar")
        finally:
            await producer.stop()

        assert await tick(engine, gate) == {}
        assert holds(gate) == {(BILLING, 0): 7, (PAYMENTS, 0): 0, (BILLING, 1): 0, (PAYMENTS, 1): 1}

        await store(engine, calendar_reader_name(settings), {("corebank.calendar.v1", 0): 1})
        assert await tick(engine, gate) == {0: D1, 1: D1}
        assert set(holds(gate).values()) == {None}

    async def test_while_the_calendar_reader_is_behind_the_account_events_are_held_too(
        self, engine: AsyncEngine, gate: CloseBarrier, settings: AgingSettings, stack: Stack
    ) -> None:
        # Applied with the billing and payments once the closes are noted, each book loaded and
        # saved once; none of them carries an aging fact, so nothing else depends on it.
        assigned = [*OWNED, (ACCOUNTS, 0), (ACCOUNTS, 1)]
        await store(engine, settings.consumer_group, {(ACCOUNTS, 0): 4})
        producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap_servers)
        await producer.start()
        try:  # a close the reader has not read yet
            await producer.send_and_wait(settings.topic("corebank.calendar.v1"), b"{}", key=b"calendar")
        finally:
            await producer.stop()

        async with AsyncSession(engine) as session, session.begin():
            await gate.tick(session, assigned)
        assert [gate.hold_from(ACCOUNTS, p) for p in (0, 1)] == [4, 0], "held from the stored positions"

        await store(engine, calendar_reader_name(settings), {("corebank.calendar.v1", 0): 1})
        async with AsyncSession(engine) as session, session.begin():
            await gate.tick(session, assigned)
        assert {gate.hold_from(*owned) for owned in assigned} == {None}


class TestABatchPassingSeveralCloses:
    """A batch in hand (a catch-up reads days at once) is split at every close it lets a
    partition pass; what it does not pass stays held."""

    async def test_each_close_a_partition_passes_is_a_step_and_the_first_it_does_not_pass_holds_it(
        self, engine: AsyncEngine, gate: CloseBarrier
    ) -> None:
        await note(engine, D1, {BILLING: {"0": 4, "1": 2}, PAYMENTS: {"0": 4, "1": 0}})
        await note(engine, D2, {BILLING: {"0": 9, "1": 5}, PAYMENTS: {"0": 9, "1": 0}})
        await note(engine, D3, {BILLING: {"0": 15, "1": 8}, PAYMENTS: {"0": 15, "1": 0}})
        assert await tick(engine, gate) == {}, "no partition has read up to its first close"

        # in hand: partition 0 past D2's barriers (not D3's), partition 1 short of D1's
        steps = gate.plan({(BILLING, 0): 12, (PAYMENTS, 0): 10, (BILLING, 1): 1})

        assert [dict(step.below) for step in steps] == [
            {(BILLING, 0): 4, (PAYMENTS, 0): 4, (BILLING, 1): 2, (PAYMENTS, 1): 0},
            {(BILLING, 0): 9, (PAYMENTS, 0): 9, (BILLING, 1): 2, (PAYMENTS, 1): 0},
            {(BILLING, 0): 15, (PAYMENTS, 0): 15, (BILLING, 1): 2, (PAYMENTS, 1): 0},
        ]
        assert steps[-1].then is None
        clocks = []
        for step in steps[:-1]:
            assert step.then is not None
            async with AsyncSession(engine) as session, session.begin():
                await step.then(session, Outbox(session))
            clocks.append(await closed_through(engine))
        assert clocks == [{0: D1}, {0: D2}], "each step closes its day for partition 0 only"

    async def test_the_steps_of_one_batch_read_the_stored_due_books_once(
        self, engine: AsyncEngine, gate: CloseBarrier
    ) -> None:
        await note(engine, D1, {BILLING: {"0": 4, "1": 0}, PAYMENTS: {"0": 4, "1": 0}})
        await note(engine, D2, {BILLING: {"0": 9, "1": 0}, PAYMENTS: {"0": 9, "1": 0}})
        await note(engine, D3, {BILLING: {"0": 15, "1": 0}, PAYMENTS: {"0": 15, "1": 0}})
        assert await tick(engine, gate) == {1: D3}, "partition 1 had nothing to read before them"
        steps = gate.plan({(BILLING, 0): 20, (PAYMENTS, 0): 20})

        async with AsyncSession(engine) as session, session.begin(), sent_to_driver(session) as sent:
            for step in steps:
                if step.then is not None:
                    await step.then(session, Outbox(session))

        assert (await closed_through(engine))[0] == D3, "the batch passed the three closes"
        assert len(due_reads(sent)) == 1, "the first close read the stored books due by the last"

    async def test_while_the_calendar_reader_is_behind_no_close_is_passed(
        self, engine: AsyncEngine, gate: CloseBarrier, settings: AgingSettings, stack: Stack
    ) -> None:
        await note(engine, D1, {BILLING: {"0": 1, "1": 1}, PAYMENTS: {"0": 1, "1": 1}})
        producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap_servers)
        await producer.start()
        try:  # a close the reader has not read yet
            await producer.send_and_wait(settings.topic("corebank.calendar.v1"), b"{}", key=b"calendar")
        finally:
            await producer.stop()
        await tick(engine, gate)

        steps = gate.plan({owned: 50 for owned in OWNED})

        assert len(steps) == 1 and steps[0].then is None
        assert dict(steps[0].below) == {owned: 0 for owned in OWNED}, "every record is held"


class TestNotingCloses:
    async def test_closes_are_noted_together_and_a_date_noted_keeps_its_first_close(
        self, engine: AsyncEngine
    ) -> None:
        barrier = {BILLING: {"0": 1}, PAYMENTS: {"0": 1}}
        await note(engine, D1, barrier)
        async with AsyncSession(engine) as session, session.begin():
            await note_closes(
                session,
                [
                    (D2, "close-a", barrier),
                    (D1, "close-again", {BILLING: {"0": 9}, PAYMENTS: {"0": 9}}),
                    (D2, "close-b", {BILLING: {"0": 7}, PAYMENTS: {"0": 7}}),
                    (D3, "close-c", barrier),
                ],
            )
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(business_day_closes.c.business_date, business_day_closes.c.event_id).order_by(
                    business_day_closes.c.business_date
                )
            )
            assert [tuple(row) for row in rows] == [(D1, f"close-{D1}"), (D2, "close-a"), (D3, "close-c")]


async def test_the_log_clock_starts_one_client_for_callers_coming_together(settings: AgingSettings) -> None:
    clock = LogClock(settings)
    try:
        first, second = await asyncio.gather(clock.client(), clock.client())
        assert first is second
    finally:
        await clock.stop()


async def test_the_calendar_reader_refuses_to_run_when_a_topic_is_stamped_by_its_producers(
    settings: AgingSettings, engine: AsyncEngine
) -> None:
    """The barrier is read from the broker's append times: a topic stamped with the producers'
    clocks (``CreateTime``) would place records wrongly, so the reader stops before reading."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        stamped_by_producers = {"message.timestamp.type": "CreateTime"}
        await admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, settings.topic(PAYMENTS), stamped_by_producers)]
        )
        for _ in range(100):  # the broker applies a config change a moment after acknowledging it
            described = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, settings.topic(PAYMENTS))]
            )
            entries = {e[0]: e[1] for response in described for r in response.resources for e in r[4]}
            if entries.get("message.timestamp.type") == "CreateTime":
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail("the broker did not apply the topic's new config")
    finally:
        await admin.close()

    with pytest.raises(LogTimeMisconfigured, match=r"payments\.v1 must have message\.timestamp\.type"):
        await asyncio.wait_for(CalendarReader(settings, engine).run(asyncio.Event()), timeout=10)


async def test_the_log_clock_holds_the_metadata_of_the_topics_it_learned_the_partitions_of(
    settings: AgingSettings,
) -> None:
    """Without it, the client's first offset look-up of each topic fails for want of metadata and
    is tried again only after aiokafka's retry backoff (100 ms per topic)."""
    clock = LogClock(settings)
    try:
        await clock.prepare([BILLING, PAYMENTS])
        client = await clock.client()
        for topic in (BILLING, PAYMENTS):
            assert client.partitions_for_topic(settings.topic(topic)), f"no metadata for {topic}"
    finally:
        await clock.stop()


class TestLocatingBarriers:
    """Where a close stands in billing and payments, read from the log (a real broker)."""

    @staticmethod
    async def publish(settings: AgingSettings, topic: str, day: str, sent: str) -> int:
        """Publish a statement of ``day`` stamped ``sent`` to ``topic``[0]; its broker timestamp."""
        event = {
            "specversion": "1.0",
            "id": f"s-{sent}",
            "source": "corebank",
            "type": "corebank.statement.issued",
            "time": sent,
            "data": {
                "account_id": "A",
                "statement_id": f"S-{sent}",
                "statement_date": day,
                "due_date": day,
                "statement_balance_minor": 100,
                "minimum_due_minor": 100,
                "currency": "CNY",
            },
        }
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
        await producer.start()
        try:
            written = await producer.send_and_wait(
                settings.topic(topic), json.dumps(event).encode(), partition=0
            )
        finally:
            await producer.stop()
        await asyncio.sleep(0.02)  # the next record in a later millisecond
        return int(written.timestamp)

    @staticmethod
    def counting(clock: LogClock) -> list[int]:
        """The times ``clock`` is asked to look up (one Kafka request each)."""
        asked: list[int] = []
        look_up = clock.first_stamped_at_or_after

        async def counted(partitions: Any, timestamp_ms: int) -> Any:
            asked.append(timestamp_ms)
            return await look_up(partitions, timestamp_ms)

        clock.first_stamped_at_or_after = counted  # type: ignore[method-assign]
        return asked

    async def test_a_close_between_records_of_other_milliseconds_needs_one_look_up_by_time(
        self, settings: AgingSettings
    ) -> None:
        stamps = [
            await self.publish(settings, BILLING, "2026-03-02", f"2026-03-02T10:00:0{n}Z") for n in range(3)
        ]
        clock = LogClock(settings)
        try:
            asked = self.counting(clock)
            first, second = await BarrierLocator(settings, clock).barriers(
                [CloseStamp(D1, stamps[0] + 1, None), CloseStamp(D2, stamps[1] + 1, None)]
            )
        finally:
            await clock.stop()
        assert (first[BILLING]["0"], second[BILLING]["0"], first[PAYMENTS]["0"]) == (1, 2, 0)
        assert sorted(asked) == [stamps[0] + 1, stamps[1] + 1], "the record found tells the close's high time"

    async def test_records_the_broker_clock_cannot_place_are_placed_by_their_own_time(
        self, settings: AgingSettings
    ) -> None:
        sent = [
            "2026-03-02T10:00:01Z",
            "2026-03-02T10:00:02Z",
            "2026-03-02T10:00:04Z",
            "2026-03-02T10:00:05Z",
        ]
        stamps = [await self.publish(settings, BILLING, "2026-03-02", at) for at in sent]
        close = CloseStamp(D1, stamps[1], datetime(2026, 3, 2, 10, 0, 3, tzinfo=UTC))
        clock = LogClock(settings)
        try:  # within a skew of two seconds the broker's clock cannot tell: the events' own times do
            barrier = await BarrierLocator(settings, clock, skew_ms=2000).barrier(close)
        finally:
            await clock.stop()
        assert barrier[BILLING]["0"] == 2

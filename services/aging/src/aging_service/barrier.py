"""Rule 1: the business-day close is a barrier.

When the calendar reader notes ``business-day.closed(D)`` it records, per partition of the
billing and payments topics, the end offset at that moment: everything published before the
close lies below it. For each partition this instance owns, the close is applied once the
consumer has stored positions at or past both barriers; until then, records at or after a
barrier are held back, so an event published after the close is applied after it. Closes are
applied one by one in date order (each is a day of its own, with its own stage changes); a single
close that jumps several days moves the as-of date straight there; the partitions a close is due
for at the same moment move together. Every instance reads the whole calendar; each applies closes
only to the partitions it owns.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from aging_service.adapters.orm import business_day_closes
from aging_service.adapters.repository import partition_clocks_of
from aging_service.handlers import AgingHandlers
from aging_service.metrics import CLOSES_PENDING, DAY_CLOSE_ACCOUNTS, DAY_CLOSE_SECONDS
from collections_common.events import BusinessDayClosed, Topics
from collections_common.runtime import Batch, ConsumerRunner, Outbox, stored_positions
from collections_common.runtime.kafka import partitions_of
from collections_common.settings import ServiceSettings

BARRIER_TOPICS = (Topics.BILLING, Topics.PAYMENTS)
"""The close waits for these. Account events carry no aging fact, so they are not held."""


@dataclass(frozen=True)
class NotedClose:
    business_date: date
    event_id: str
    barrier: dict[str, dict[str, int]]

    def offset(self, topic: str, partition: int) -> int:
        return self.barrier.get(topic, {}).get(str(partition), 0)


class CalendarReader:
    """A worker component reading ``corebank.calendar.v1`` in every instance (no consumer group):
    it notes each close with its barrier offsets, for the instances' gates to apply."""

    def __init__(self, settings: ServiceSettings, engine: AsyncEngine) -> None:
        self._settings = settings
        self._offsets: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []
        self._runner = ConsumerRunner(
            settings=settings,
            engine=engine,
            topics=(Topics.CALENDAR,),
            handler=self.handle_batch,
            name=f"{settings.consumer_group}-calendar",
            group=False,
        )

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await self._runner.run(stop)
        finally:
            offsets, self._offsets = self._offsets, None
            if offsets is not None:
                await offsets.stop()

    async def handle_batch(self, batch: Batch) -> None:
        for incoming in batch.events:
            data = incoming.event.data
            if not isinstance(data, BusinessDayClosed):
                continue
            await batch.session.execute(
                pg_insert(business_day_closes)
                .values(
                    business_date=data.business_date,
                    event_id=incoming.event.envelope.id,
                    barrier=await self._end_offsets(),
                )
                .on_conflict_do_nothing()
            )

    async def _end_offsets(self) -> dict[str, dict[str, int]]:
        if self._offsets is None:
            consumer = AIOKafkaConsumer(bootstrap_servers=self._settings.kafka_bootstrap_servers)
            await consumer.start()
            self._offsets = consumer
        if not self._partitions:  # partition counts are fixed while the service runs
            self._partitions = [
                TopicPartition(self._settings.topic(topic), partition)
                for topic in BARRIER_TOPICS
                for partition in await partitions_of(self._settings, self._settings.topic(topic))
            ]
        ends = await self._offsets.end_offsets(self._partitions)
        barrier: dict[str, dict[str, int]] = {topic: {} for topic in BARRIER_TOPICS}
        for tp, end in ends.items():
            barrier[tp.topic.removeprefix(self._settings.kafka_topic_prefix)][str(tp.partition)] = end
        return barrier


class CloseBarrier:
    """The consumer runner's gate: holds post-close records and applies closes when due."""

    def __init__(self, handlers: AgingHandlers, consumer: str) -> None:
        self._handlers = handlers
        self._consumer = consumer
        self._limits: dict[tuple[str, int], int] = {}

    def hold_from(self, topic: str, partition: int) -> int | None:
        return self._limits.get((topic, partition))

    async def tick(self, session: AsyncSession, assigned: Sequence[tuple[str, int]]) -> None:
        owned = sorted({partition for topic, partition in assigned if topic in BARRIER_TOPICS})
        if not owned:
            self._limits = {}
            return
        clocks = await partition_clocks_of(session, owned)
        oldest = min((clocks.get(p) for p in owned), key=lambda d: d or date.min)
        query = select(business_day_closes).order_by(business_day_closes.c.business_date)
        if oldest is not None:
            query = query.where(business_day_closes.c.business_date > oldest)
        closes = [
            NotedClose(row.business_date, row.event_id, row.barrier) for row in await session.execute(query)
        ]
        if not closes:
            self._limits = {}
            CLOSES_PENDING.set(0)
            return
        positions = await stored_positions(session, self._consumer)
        outbox = Outbox(session)
        limits: dict[tuple[str, int], int] = {}
        blocked: set[int] = set()  # partitions waiting for a close: later closes wait behind it
        for close in closes:
            ready: list[int] = []
            for partition in owned:
                if partition in blocked:
                    continue
                if clocks.get(partition) is not None and close.business_date <= clocks[partition]:
                    continue  # rule 1: a close not after the last closed date changes nothing
                if not all(
                    positions.get((t, partition), 0) >= close.offset(t, partition) for t in BARRIER_TOPICS
                ):
                    blocked.add(partition)
                    for topic in BARRIER_TOPICS:  # hold what was published after this close
                        limits[(topic, partition)] = close.offset(topic, partition)
                    continue
                ready.append(partition)
            if ready:  # the partitions this close is due for move together
                started = time.perf_counter()
                touched = await self._handlers.apply_close(
                    session, outbox, ready, close.business_date, close.event_id
                )
                DAY_CLOSE_SECONDS.observe(time.perf_counter() - started)
                DAY_CLOSE_ACCOUNTS.inc(touched)
        await outbox.flush()
        self._limits = limits
        CLOSES_PENDING.set(len(blocked))

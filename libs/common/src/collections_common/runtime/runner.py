"""The consumer runner: the one place where delivery guarantees are made.

For each poll (``getmany``) it decodes and validates the records, claims their identities
(``source``, ``id``) so that events already applied are skipped, hands the rest to the service's
batch handler, and in the *same* database transaction dead-letters bad input (through the
outbox) and stores the next offset of every partition. Kafka's committed offsets are written
afterwards for monitoring only: on assignment the runner seeks to the positions stored in the
database, so a database restored from a backup re-reads what it has not applied.

Failures: a transient one (database or broker unreachable) pauses and retries the same batch
with backoff, never skipping; a batch whose handler fails otherwise is retried event by event,
and an event that still fails alone is dead-lettered with the error as its reason.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeAlias

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from collections_common.bulk import insert_rows
from collections_common.events import CloudEvent, InvalidEvent, decode, validate
from collections_common.logs import event_log_context
from collections_common.metrics import (
    BATCH_SECONDS,
    CONSUMER_LAG,
    DEAD_LETTERS,
    EVENTS_DUPLICATE,
    EVENTS_FAILED,
    EVENTS_HANDLED,
    HANDLER_SECONDS,
    TRANSIENT_FAILURES,
)
from collections_common.runtime._aio import sleep_or_stop
from collections_common.runtime.deliveries import Batch, Delivery, Incoming, dead_letter
from collections_common.runtime.errors import failure_reason, is_transient
from collections_common.runtime.faults import crash_point
from collections_common.runtime.kafka import new_consumer, partitions_of
from collections_common.runtime.outbox import Outbox
from collections_common.runtime.tables import consumer_positions, processed_events
from collections_common.settings import ServiceSettings

log = logging.getLogger(__name__)

BatchHandler = Callable[[Batch], Awaitable[None]]
Record: TypeAlias = "ConsumerRecord[bytes, bytes]"

KAFKA_COMMIT_INTERVAL = 1.0
"""Seconds between two mirrors of the stored positions into Kafka's committed offsets."""

_RELEASE = text(
    "DELETE FROM processed_events p"
    " USING unnest(CAST(:sources AS varchar[]), CAST(:ids AS varchar[])) AS batch(source, event_id)"
    " WHERE p.consumer = :consumer AND p.source = batch.source AND p.event_id = batch.event_id"
)
_STORE_POSITIONS = text(
    "WITH batch AS ("
    " SELECT * FROM unnest(CAST(:topics AS varchar[]), CAST(:partitions AS integer[]),"
    " CAST(:firsts AS bigint[]), CAST(:nexts AS bigint[])) AS b(topic, partition, first, next))"
    " INSERT INTO consumer_positions AS p (consumer, topic, partition, next_offset)"
    " SELECT :consumer, topic, partition, next FROM batch"
    " ON CONFLICT (consumer, topic, partition) DO UPDATE"
    " SET next_offset = EXCLUDED.next_offset, updated_at = now()"
    " WHERE p.next_offset <= (SELECT first FROM batch"
    " WHERE batch.topic = EXCLUDED.topic AND batch.partition = EXCLUDED.partition)"
    " RETURNING p.topic, p.partition"
)
"""Every partition of a batch moves to its next offset in one statement, each only if its stored
position is not past the batch's first offset there (a stale owner is fenced off)."""


async def stored_positions(db: AsyncSession | AsyncConnection, consumer: str) -> dict[tuple[str, int], int]:
    """The next offset to read of every (topic, partition) ``consumer`` has stored."""
    rows = await db.execute(
        select(
            consumer_positions.c.topic, consumer_positions.c.partition, consumer_positions.c.next_offset
        ).where(consumer_positions.c.consumer == consumer)
    )
    return {(row.topic, row.partition): row.next_offset for row in rows}


class Gate(Protocol):
    """Lets a service hold a partition's records from an offset on until a condition is met.

    The aging service uses it for the business-day close: records published after a close wait
    until the close has been applied to their partition.
    """

    def hold_from(self, topic: str, partition: int) -> int | None:
        """The first offset of ``topic[partition]`` that may not be applied yet, or None."""

    async def tick(self, session: AsyncSession, assigned: Sequence[tuple[str, int]]) -> None:
        """Apply what became due: called before a poll's records are applied (in a transaction
        of its own, for fresh limits) and at the end of each batch's transaction (so what the
        batch completed is applied with it)."""

    async def close(self) -> None:
        """Release what the gate holds (clients); called once when the runner stops."""


class Abandoned(Exception):
    """Stopping while the batch in hand cannot be committed; it is read again after a restart."""


class GateFailed(Exception):
    """The gate failed for a reason that is not transient: no event is to blame, so the batch is
    not retried event by event (which would dead-letter them); the runner stops."""


class StalePosition(Exception):
    """Another consumer has already moved this partition past the batch (we lost ownership)."""


class ConsumerRunner:
    """Consumes ``topics`` in the service's group and applies them with ``handler``."""

    def __init__(
        self,
        *,
        settings: ServiceSettings,
        engine: AsyncEngine,
        topics: Sequence[str],
        handler: BatchHandler,
        name: str | None = None,
        gate: Gate | None = None,
        group: bool = True,
        deduplicate: bool = True,
    ) -> None:
        """``group=False`` reads every partition of ``topics`` in every instance (no consumer group),
        e.g. a calendar all instances must see; instances then share positions by ``name``.

        ``deduplicate=False`` is for a handler that is idempotent by itself: every effect keyed by
        the identity the event carries (a statement id, a payment id), so applying an event again
        changes nothing. The runner then records no event identities (no ``processed_events``
        rows): the handler's own keys absorb a resent or replayed event.
        """
        self.settings = settings
        self.name = name or settings.consumer_group
        self._engine = engine
        self._topics = list(topics)
        self._handler = handler
        self._gate = gate
        self._group = group
        self._deduplicate = deduplicate
        self._lock = asyncio.Lock()
        self._consumer: AIOKafkaConsumer | None = None
        self._held: dict[TopicPartition, list[Record]] = {}  # behind the gate, partition paused
        self._ready: dict[TopicPartition, list[Record]] = {}  # released by the gate, to apply next
        self._next: dict[TopicPartition, int] = {}
        self._sought: dict[TopicPartition, int] = {}  # serial of the last seek to the stored position
        self._seeks = 0
        self._kafka_committed_at = 0.0  # monotonic time of the last mirror of positions into Kafka
        for component in ("consumer", "positions", *(("gate",) if gate is not None else ())):
            TRANSIENT_FAILURES.labels(self.name, component)  # exported at 0 before any failure

    # -- topic names --------------------------------------------------------------------------
    def _logical(self, physical: str) -> str:
        return physical.removeprefix(self.settings.kafka_topic_prefix)

    @property
    def assigned(self) -> list[tuple[str, int]]:
        if self._consumer is None:
            return []
        return sorted((self._logical(tp.topic), tp.partition) for tp in self._consumer.assignment())

    # -- main loop ----------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        consumer = await self._start_consumer(stop)
        if consumer is None:
            return
        try:
            while not stop.is_set():
                records = await consumer.getmany(
                    timeout_ms=0 if self._ready else self.settings.consumer_poll_timeout_ms,
                    max_records=self.settings.consumer_batch_max,
                )
                sought = dict(self._sought)
                try:
                    async with self._lock:
                        # Drop records fetched before their partition was (re)sought to its stored
                        # position (e.g. from Kafka's committed offsets while the listener read the
                        # database): the seek makes the consumer fetch them again from there.
                        records = {
                            tp: batch
                            for tp, batch in records.items()
                            if tp in sought and self._sought.get(tp) == sought[tp]
                        }
                        if self._gate is not None:  # fresh limits before these records are applied
                            await self._retrying(lambda: self._tick(), stop, "gate")
                            self._release_held()
                        records = self._take_ready(records)
                        if records:
                            await self._process(records, stop)  # ticks the gate in its transaction
                            self._release_held()
                        self._report_lag()
                except Abandoned:
                    log.warning("stopping with an uncommitted batch; it will be read again")
                    break
        finally:
            await self._commit_kafka_offsets(force=True)
            self._consumer = None
            await consumer.stop()
            if self._gate is not None:
                await self._gate.close()

    async def _start_consumer(self, stop: asyncio.Event) -> AIOKafkaConsumer | None:
        backoff = 0.5
        while not stop.is_set():
            consumer = new_consumer(self.settings, group=self._group)
            if self._group:
                consumer.subscribe(
                    [self.settings.topic(topic) for topic in self._topics], listener=_Rebalance(self)
                )
            try:
                # start() waits for the first assignment, whose listener seeks with self._consumer:
                # without it the first positions would be Kafka's committed offsets, not the stored ones.
                self._consumer = consumer
                await consumer.start()
                if not self._group:
                    partitions = [
                        TopicPartition(self.settings.topic(topic), partition)
                        for topic in self._topics
                        for partition in await partitions_of(self.settings, self.settings.topic(topic))
                    ]
                    consumer.assign(partitions)
                    self._consumer = consumer
                    await self._seek_to_stored(partitions)
            except Exception as exc:
                self._consumer = None
                await consumer.stop()
                if not is_transient(exc):
                    raise
                log.warning("broker unavailable, retrying: %s", exc)
                TRANSIENT_FAILURES.labels(self.name, "consumer").inc()
                await sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            self._consumer = consumer
            return consumer
        return None

    # -- one poll -----------------------------------------------------------------------------
    async def _process(self, records: dict[TopicPartition, list[Record]], stop: asyncio.Event) -> None:
        deliveries: list[Delivery] = []
        for tp, batch in records.items():
            limit = self._gate.hold_from(self._logical(tp.topic), tp.partition) if self._gate else None
            for index, record in enumerate(batch):
                if limit is not None and record.offset >= limit:
                    self._hold(tp, batch[index:])
                    break
                deliveries.append(
                    Delivery(
                        topic=self._logical(tp.topic),
                        partition=tp.partition,
                        offset=record.offset,
                        key=record.key,
                        value=record.value or b"",
                        headers=tuple((name, value or b"") for name, value in record.headers),
                        timestamp=record.timestamp,
                        timestamp_type=record.timestamp_type,
                    )
                )
        if not deliveries:
            return
        started = time.perf_counter()

        async def one_by_one(_: Exception) -> None:
            for delivery in deliveries:
                with event_log_context(
                    topic=delivery.topic,
                    partition=delivery.partition,
                    offset=delivery.offset,
                    event_id=_id_or_none(_envelope_of(delivery)),
                ):
                    await self._retrying(
                        lambda d=delivery: self._apply([d]),  # type: ignore[misc]
                        stop,
                        "consumer",
                        fallback=lambda exc, d=delivery: self._apply(  # type: ignore[misc]
                            [d], failure=failure_reason(exc)
                        ),
                    )

        await self._retrying(lambda: self._apply(deliveries), stop, "consumer", fallback=one_by_one)
        elapsed = time.perf_counter() - started
        BATCH_SECONDS.labels(self.name).observe(elapsed)
        HANDLER_SECONDS.labels(self.name).observe(elapsed / len(deliveries))

    async def _retrying(
        self,
        work: Callable[[], Awaitable[None]],
        stop: asyncio.Event,
        component: str,
        fallback: Callable[[Exception], Awaitable[None]] | None = None,
    ) -> None:
        """Run ``work`` until it succeeds; transient failures back off, never skip."""
        backoff = 0.2
        while True:
            try:
                await work()
                return
            except StalePosition as exc:
                log.warning("lost ownership, re-reading from the stored position: %s", exc)
                await self._reseek_all()
                return
            except GateFailed:
                raise
            except Exception as exc:
                if is_transient(exc):
                    TRANSIENT_FAILURES.labels(self.name, component).inc()
                    log.warning("%s paused, will retry: %s", component, exc)
                    if stop.is_set():
                        raise Abandoned from exc  # nothing was committed: it is read again on restart
                    await sleep_or_stop(stop, backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                if fallback is None:
                    raise
                log.exception("%s failed; retrying event by event", component)
                await fallback(exc)
                return

    async def _apply(self, deliveries: Sequence[Delivery], failure: str | None = None) -> None:
        """Apply ``deliveries`` in one transaction (or dead-letter them all with ``failure``)."""
        async with AsyncSession(self._engine) as session, session.begin():
            outbox = Outbox(session)
            invalid: list[_Invalid] = []
            decoded: list[Incoming] = []
            for delivery in deliveries:
                if failure is not None:
                    invalid.append(_Invalid(delivery, failure, _envelope_of(delivery)))
                    continue
                try:
                    envelope = decode(delivery.value)
                except InvalidEvent as exc:
                    invalid.append(_Invalid(delivery, exc.reason, None))
                    continue
                try:
                    decoded.append(Incoming(delivery, validate(envelope, topic=delivery.topic)))
                except InvalidEvent as exc:
                    invalid.append(_Invalid(delivery, exc.reason, envelope))
            fresh = await self._claim(session, decoded)
            batch = Batch(session=session, outbox=outbox, events=fresh)
            if fresh:
                await self._handler(batch)
            rejected = [incoming for incoming in fresh if batch.is_rejected(incoming)]
            invalid.extend(_Invalid(i.delivery, batch.rejected[id(i)], i.event.envelope) for i in rejected)
            await self._release(session, rejected)
            for item in invalid:
                delivery = item.delivery
                with event_log_context(
                    topic=delivery.topic,
                    partition=delivery.partition,
                    offset=delivery.offset,
                    event_id=item.envelope.id if item.envelope else None,
                ):
                    log.warning("dead letter: %s", item.reason)
                dead_letter(outbox, delivery, item.reason, consumer=self.name)
            applied = [incoming for incoming in fresh if not batch.is_rejected(incoming)]
            await outbox.flush()
            await self._store_positions(session, deliveries)
            if self._gate is not None and failure is None:  # what this batch completed applies with it
                try:
                    await self._gate.tick(session, self.assigned)
                except Exception as exc:
                    if is_transient(exc):
                        raise
                    raise GateFailed(f"gate failed: {type(exc).__name__}: {exc}") from exc
            crash_point("handler.before_commit")
        crash_point("consumer.after_db_commit")
        self._count(applied, invalid, len(decoded) - len(fresh), deliveries)
        await self._commit_kafka_offsets()

    async def _claim(self, session: AsyncSession, decoded: Sequence[Incoming]) -> list[Incoming]:
        """Record the identities of ``decoded`` as applied; return the events not applied before,
        each once (a repeat inside the batch is a duplicate too).

        Inserting first (``ON CONFLICT DO NOTHING RETURNING``) answers "seen before?" through the
        primary key in the same statement that records the answer; the claim commits or rolls back
        with the batch's effects.
        """
        if not decoded or not self._deduplicate:
            return list(decoded)
        identities = [
            {"consumer": self.name, "source": source, "event_id": event_id}
            for source, event_id in (incoming.identity for incoming in decoded)
        ]
        claimed = {
            (row.source, row.event_id)
            for row in await insert_rows(
                session,
                processed_events,
                identities,
                conflict=("consumer", "source", "event_id"),
                returning=("source", "event_id"),
            )
        }
        fresh: list[Incoming] = []
        for incoming in decoded:
            if incoming.identity in claimed:
                claimed.discard(incoming.identity)
                fresh.append(incoming)
        return fresh

    async def _release(self, session: AsyncSession, rejected: Sequence[Incoming]) -> None:
        """Forget the claims of events the handler rejected: a replay from the DLQ applies them."""
        if not rejected or not self._deduplicate:
            return
        await session.execute(
            _RELEASE,
            {
                "consumer": self.name,
                "sources": [i.identity[0] for i in rejected],
                "ids": [i.identity[1] for i in rejected],
            },
        )

    async def _store_positions(self, session: AsyncSession, deliveries: Sequence[Delivery]) -> None:
        first: dict[tuple[str, int], int] = {}
        last: dict[tuple[str, int], int] = {}
        for delivery in deliveries:
            key = (delivery.topic, delivery.partition)
            first.setdefault(key, delivery.offset)
            last[key] = delivery.offset
        keys = list(last)
        moved = {
            (row.topic, row.partition)
            for row in await session.execute(
                _STORE_POSITIONS,
                {
                    "consumer": self.name,
                    "topics": [topic for topic, _ in keys],
                    "partitions": [partition for _, partition in keys],
                    "firsts": [first[key] for key in keys],
                    "nexts": [last[key] + 1 for key in keys],
                },
            )
        }
        for topic, partition in keys:
            if (topic, partition) not in moved:
                raise StalePosition(f"{topic}[{partition}] is past offset {first[(topic, partition)]}")
        for topic, partition in keys:
            self._next[TopicPartition(self.settings.topic(topic), partition)] = last[(topic, partition)] + 1

    def _count(
        self,
        applied: Sequence[Incoming],
        invalid: Sequence[_Invalid],
        duplicates: int,
        deliveries: Sequence[Delivery],
    ) -> None:
        handled = Counter((incoming.delivery.topic, incoming.event.envelope.type) for incoming in applied)
        for (topic, event_type), count in handled.items():  # one labelled increment per kind
            EVENTS_HANDLED.labels(self.name, topic, event_type).inc(count)
        for item in invalid:
            kind = item.reason.split(":", 1)[0][:40]
            DEAD_LETTERS.labels(self.name, item.delivery.topic, kind).inc()
            event_type = item.envelope.type if item.envelope else "undecodable"
            EVENTS_FAILED.labels(self.name, item.delivery.topic, event_type).inc()
        if duplicates:
            EVENTS_DUPLICATE.labels(self.name, deliveries[0].topic).inc(duplicates)

    async def _commit_kafka_offsets(self, *, force: bool = False) -> None:
        """Mirror the stored positions into Kafka, for lag monitoring by standard tools only: at
        most once per ``KAFKA_COMMIT_INTERVAL`` (a round trip to the broker per batch would cost
        the batch loop more than the monitoring gains), and when the runner stops."""
        consumer = self._consumer
        if consumer is None:
            return
        now = time.monotonic()
        if not force and now - self._kafka_committed_at < KAFKA_COMMIT_INTERVAL:
            return
        self._kafka_committed_at = now
        offsets = {tp: offset for tp, offset in self._next.items() if tp in consumer.assignment()}
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except Exception as exc:  # noqa: BLE001 - never affects correctness
            log.debug("kafka offset commit skipped: %s", exc)

    # -- holding records behind a gate ----------------------------------------------------------
    def _hold(self, tp: TopicPartition, records: list[Record]) -> None:
        """Keep ``records`` (from the first one behind the gate on) and stop fetching ``tp``.

        They stay in memory, so releasing them costs no new fetch; the consumer's position is
        already past them, so what it fetches after ``resume`` follows them in order.
        """
        assert self._consumer is not None
        self._held[tp] = records
        self._consumer.pause(tp)

    def _release_held(self) -> None:
        """Move held records whose gate has opened to the records to apply next."""
        if self._consumer is None or self._gate is None:
            return
        for tp, records in list(self._held.items()):
            limit = self._gate.hold_from(self._logical(tp.topic), tp.partition)
            if limit is None or limit > records[0].offset:
                del self._held[tp]
                self._ready[tp] = records
                if tp in self._consumer.assignment():
                    self._consumer.resume(tp)

    def _take_ready(self, fetched: dict[TopicPartition, list[Record]]) -> dict[TopicPartition, list[Record]]:
        """Released records first, then what was fetched after them, partition by partition."""
        ready, self._ready = self._ready, {}
        merged = dict(ready)
        for tp, records in fetched.items():
            merged[tp] = [*merged.get(tp, []), *records]
        return merged

    def _forget_held(self, partitions: Sequence[TopicPartition]) -> None:
        """Drop held and released records of ``partitions`` (they are read again from the
        stored positions) and let the consumer fetch them."""
        for tp in partitions:
            self._held.pop(tp, None)
            self._ready.pop(tp, None)
            if self._consumer is not None and tp in self._consumer.assignment():
                self._consumer.resume(tp)

    async def _tick(self) -> None:
        assert self._gate is not None
        async with AsyncSession(self._engine) as session, session.begin():
            await self._gate.tick(session, self.assigned)

    # -- assignment ---------------------------------------------------------------------------
    async def _seek_to_stored(self, partitions: Sequence[TopicPartition]) -> None:
        consumer = self._consumer
        if consumer is None or not partitions:
            return
        stored = await self._load_positions(partitions)
        for tp in partitions:
            offset = stored.get((self._logical(tp.topic), tp.partition))
            self._seeks += 1
            self._sought[tp] = self._seeks  # before seeking: records fetched after it are kept
            if offset is None:
                await consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, offset)
                self._next[tp] = offset
        self._forget_held(partitions)

    async def _reseek_all(self) -> None:
        if self._consumer is not None:
            await self._seek_to_stored(sorted(self._consumer.assignment()))

    async def _load_positions(self, partitions: Sequence[TopicPartition]) -> dict[tuple[str, int], int]:
        backoff = 0.2
        while True:
            try:
                async with self._engine.connect() as conn:
                    return await stored_positions(conn, self.name)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                TRANSIENT_FAILURES.labels(self.name, "positions").inc()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def _report_lag(self) -> None:
        consumer = self._consumer
        if consumer is None:
            return
        for tp in consumer.assignment():
            end = consumer.highwater(tp)
            position = self._next.get(tp)
            if end is not None and position is not None:
                CONSUMER_LAG.labels(self.name, self._logical(tp.topic), str(tp.partition)).set(
                    max(0, end - position)
                )


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: ConsumerRunner) -> None:
        self._runner = runner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        async with self._runner._lock:  # wait for the batch in hand: its work is committed
            for tp in revoked:
                self._runner._sought.pop(tp, None)
            self._runner._forget_held(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        async with self._runner._lock:
            await self._runner._seek_to_stored(sorted(assigned))


@dataclass(frozen=True)
class _Invalid:
    """A message going to the dead-letter topic, with its envelope when it has a valid one."""

    delivery: Delivery
    reason: str
    envelope: CloudEvent | None


def _envelope_of(delivery: Delivery) -> CloudEvent | None:
    try:
        return decode(delivery.value)
    except InvalidEvent:
        return None


def _id_or_none(envelope: CloudEvent | None) -> str | None:
    return envelope.id if envelope else None

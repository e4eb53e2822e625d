"""The consumer runner: the one place where delivery guarantees are made.

For each poll (``getmany``) it decodes and validates the records, claims their identities
(``source``, ``id``; :mod:`.claims`) so that events already applied are skipped, hands the rest
to the service's batch handler, and in the *same* database transaction dead-letters bad input
(through the outbox; :mod:`.dead_letters`) and stores the next offset of every partition
(:mod:`.positions`). Kafka's committed offsets are written afterwards for monitoring only
(:mod:`.offsets`): on assignment the runner seeks to the positions stored in the database, so a
database restored from a backup re-reads what it has not applied. An optional gate
(:mod:`.holding`) holds a partition's records from an offset on; a stepping gate splits a batch
into steps with its own action between them, all in the batch's one transaction, which ticks it
first.

Failures (:mod:`.errors`, :mod:`.retry`): a transient one (database or broker unreachable)
pauses and retries the same batch with backoff, never skipping; a batch whose handler fails
otherwise is retried event by event, and an event that still fails alone is dead-lettered with
the error as its reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from collections_common.events import InvalidEvent, decode, validate
from collections_common.logs import event_log_context
from collections_common.metrics import BATCH_SECONDS, CONSUMER_STARTED, HANDLER_SECONDS, TRANSIENT_FAILURES
from collections_common.runtime._aio import STOP_GRACE_SECONDS, sleep_or_stop, unless_stopped
from collections_common.runtime.claims import claim, release
from collections_common.runtime.consumer_metrics import count_batch, report_lag
from collections_common.runtime.dead_letters import Rejection, envelope_of, send_dead_letters
from collections_common.runtime.deliveries import Batch, Delivery, Incoming
from collections_common.runtime.errors import (
    Abandoned,
    GateFailed,
    StalePosition,
    failure_reason,
    is_transient,
)
from collections_common.runtime.faults import crash_point
from collections_common.runtime.gc_tuning import collection_paused
from collections_common.runtime.holding import (
    Action,
    Fetched,
    Gate,
    HeldRecords,
    Record,
    Step,
    SteppingGate,
)
from collections_common.runtime.kafka import new_consumer, partitions_of, stop_consumer
from collections_common.runtime.offsets import OffsetMirror
from collections_common.runtime.outbox import Outbox, outbox_committed, wrote_outbox
from collections_common.runtime.positions import store_positions, stored_positions
from collections_common.runtime.retry import Backoff, retrying
from collections_common.settings import ServiceSettings

__all__ = [
    "Abandoned",
    "BatchHandler",
    "ConsumerRunner",
    "Gate",
    "GateFailed",
    "StalePosition",
    "stored_positions",
]

log = logging.getLogger(__name__)

BatchHandler = Callable[[Batch], Awaitable[None]]
Segment = tuple[list[Delivery], Action | None]
"""Deliveries applied together, then the gate's action (if any), in the batch's transaction."""
Planner = Callable[[AsyncSession, Outbox], Awaitable[list[Segment]]]
"""Work done first in a batch's transaction that gives the segments to apply in it."""

HELD_POLL_TIMEOUT_MS = 20
"""The poll's wait while records are held behind the gate: the gate is asked again this soon, so a
held partition moves on about as soon as its condition is met (a catch-up meets one per close)."""


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
        self._stepping = gate if isinstance(gate, SteppingGate) else None
        self._group = group
        self._deduplicate = deduplicate
        self._lock = asyncio.Lock()
        self._consumer: AIOKafkaConsumer | None = None
        self._held = HeldRecords(lambda: self._consumer, self._logical)
        self._next: dict[TopicPartition, int] = {}
        self._sought: dict[TopicPartition, int] = {}  # serial of the last seek to the stored position
        self._seeks = 0
        self._mirror = OffsetMirror(settings.kafka_commit_interval_seconds)
        self._stop = asyncio.Event()  # run's
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
        """Consume until ``stop`` is set; then finish or abandon the work in hand, attempt one
        last commit of Kafka's offsets, and return.

        What a stop guarantees: a batch's effects, its dead letters, its outbox rows and its
        partitions' next offsets (``consumer_positions``) are committed in one PostgreSQL
        transaction, so each batch is either applied whole with its positions moved, or not at
        all. The batch in hand has ``STOP_GRACE_SECONDS`` to commit; one still running then (e.g.
        waiting for a database or a broker that is gone) is cancelled: rolled back, or, when the
        cancellation meets its COMMIT, committed whole; the stored positions say which. Either
        way nothing is lost and nothing applied twice: the next consumer of a partition seeks to
        its stored position, and records it fetches before that seek are dropped. Kafka's
        committed offsets are then written once more, waited for ``KAFKA_COMMIT_TIMEOUT`` at
        most; they can stay behind the stored positions (broker gone, slow, or a rebalance), which
        only makes the consumer-group lag read high until the next commit: no record is read or
        applied again because of them. A waiting rebalance listener (reading the stored positions,
        seeking) gives up on ``stop`` too.
        """
        self._stop = stop
        consumer = await self._start_consumer(stop)
        if consumer is None:
            return
        try:
            while not stop.is_set():
                records = await consumer.getmany(
                    timeout_ms=self._poll_timeout_ms(), max_records=self.settings.consumer_batch_max
                )
                sought = dict(self._sought)
                try:
                    # A batch keeps most of what it makes until it commits: the collector runs
                    # again once the batch is gone, not in the middle of it (``collection_paused``).
                    # An empty poll pauses nothing (it would collect in the middle of another's batch).
                    batch = records or self._held.has_held or self._held.has_ready
                    with collection_paused() if batch else contextlib.nullcontext():
                        await self._handle_poll(records, sought, stop)
                        del records
                except Abandoned:
                    log.warning("stopping without the work in hand; it will be read again")
                    break
        finally:
            if not await self._mirror.mirror(self._consumer, self._next, force=True):
                log.warning("kafka offsets not committed on stop (for monitoring only; positions are stored)")
            self._consumer = None
            await stop_consumer(consumer)
            if self._gate is not None:
                await self._gate.close()

    async def _handle_poll(
        self, records: Fetched, sought: dict[TopicPartition, int], stop: asyncio.Event
    ) -> None:
        """Apply one poll's records (held ones first, per the gate); report lag, mirror offsets."""
        async with self._lock:
            # Drop records fetched before their partition was (re)sought to its stored
            # position (e.g. from Kafka's committed offsets while the listener read the
            # database): the seek makes the consumer fetch them again from there.
            records = {
                tp: batch
                for tp, batch in records.items()
                if tp in sought and self._sought.get(tp) == sought[tp]
            }
            if self._stepping is not None:
                await self._step(records, self._stepping, stop)
            else:
                if self._gate is not None:  # fresh limits before these records are applied
                    await self._guarded(self._tick, stop, "gate")
                segments = self._segments(records)
                if any(deliveries for deliveries, _ in segments):
                    await self._process(segments, stop)  # ticks the gate in its transaction
                    if self._gate is not None:
                        self._held.release(self._gate)
            report_lag(self.name, self._consumer, self._next, self._logical)
            await self._mirror.mirror(self._consumer, self._next)

    def _poll_timeout_ms(self) -> int:
        if self._held.has_ready:
            return 0
        if self._held.has_held:
            return min(HELD_POLL_TIMEOUT_MS, self.settings.consumer_poll_timeout_ms)
        return self.settings.consumer_poll_timeout_ms

    async def _start_consumer(self, stop: asyncio.Event) -> AIOKafkaConsumer | None:
        backoff = Backoff(first=0.5)
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
                CONSUMER_STARTED.labels(self.name).set_to_current_time()
                await unless_stopped(stop, consumer.start())
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
                await stop_consumer(consumer)
                if isinstance(exc, Abandoned):
                    return None
                if not is_transient(exc):
                    raise
                log.warning("broker unavailable, retrying: %s", exc)
                TRANSIENT_FAILURES.labels(self.name, "consumer").inc()
                await sleep_or_stop(stop, backoff.next())
                continue
            self._consumer = consumer
            return consumer
        return None

    # -- one poll -----------------------------------------------------------------------------
    def _segments(self, records: Fetched) -> list[Segment]:
        """The records to apply now (a gate that does not step holds the rest)."""
        if self._gate is not None:
            self._held.release(self._gate)
        return [(self._deliveries(self._held.take_ready(records)), None)]

    async def _step(self, records: Fetched, gate: SteppingGate, stop: asyncio.Event) -> None:
        """One poll through a stepping gate: the records in hand (those held first) are planned and
        applied in one transaction, which ticks the gate once, first: its limits are then read
        after the records were fetched, and what had become due applies before any of them.
        What the plan does not let through stays held."""
        in_hand = self._held.take_all(records)
        if not any(in_hand.values()):
            self._held.keep({})
            await self._guarded(self._tick, stop, "gate")  # nothing in hand: closes may still be due
            return
        reach = {
            (self._logical(tp.topic), tp.partition): batch[-1].offset + 1
            for tp, batch in in_hand.items()
            if batch
        }
        held: Fetched = {}
        applied = 0
        started = time.perf_counter()

        async def planned(session: AsyncSession, outbox: Outbox) -> list[Segment]:
            await self._gate_action(self._gate_tick, session, outbox)
            segments, later = self._split(in_hand, gate.plan(reach))
            held.clear()
            held.update(later)
            return segments

        async def apply() -> None:
            nonlocal applied
            applied = await self._apply(planned) or -1  # -1: committed with every record held

        async def one_by_one(_: Exception) -> None:
            # The closes already due first (committed), then event by event only the records
            # before the plan's first close; every partition in hand is read again from its
            # stored position (the next poll plans the rest afresh).
            await self._guarded(self._tick, stop, "gate")
            first = self._split(in_hand, gate.plan(reach))[0][0]
            await self._each(first[0], stop)
            self._held.keep({})
            await self._seek_to_stored(sorted(in_hand))

        await self._guarded(apply, stop, "consumer", fallback=one_by_one)
        if applied:  # committed (else lost ownership, re-read, or done event by event)
            await self._take_fetched(held)
            self._held.keep(held)
        if applied > 0:
            elapsed = time.perf_counter() - started
            BATCH_SECONDS.labels(self.name).observe(elapsed)
            HANDLER_SECONDS.labels(self.name).observe(elapsed / applied)

    async def _take_fetched(self, held: Fetched) -> None:
        """Add to ``held`` the records the consumer has already fetched after them, for the
        partitions about to be paused: pausing drops those (a poll stops at ``consumer_batch_max``
        inside a partition), and they would be fetched again only once it is resumed, too late
        for the batch that could pass their closes."""
        consumer = self._consumer
        if consumer is None:
            return
        paused = consumer.paused()
        fetching = [tp for tp, records in held.items() if records and tp not in paused]
        if fetching:
            for tp, records in (await consumer.getmany(*fetching, timeout_ms=0)).items():
                held[tp] = [*held[tp], *records]

    def _split(self, records: Fetched, steps: Sequence[Step]) -> tuple[list[Segment], Fetched]:
        """``records`` split by a stepping gate's plan: each record in the first step whose limit
        for its partition is past it; those past the last step's limits are returned apart."""
        segments: list[Segment] = [([], step.then) for step in steps]
        later: Fetched = {}
        for tp, batch in records.items():
            key = (self._logical(tp.topic), tp.partition)
            step = 0
            for index, record in enumerate(batch):
                while step < len(steps) and record.offset >= steps[step].below.get(key, record.offset + 1):
                    step += 1
                if step == len(steps):
                    later[tp] = batch[index:]
                    break
                segments[step][0].append(_delivery(key[0], key[1], record))
        return segments, later

    async def _process(self, segments: list[Segment], stop: asyncio.Event) -> None:
        deliveries = [delivery for part, _ in segments for delivery in part]
        started = time.perf_counter()

        async def one_by_one(_: Exception) -> None:
            # Event by event, only up to the gate's first action; the partitions with records after
            # it are read again from their stored positions (the next poll plans them afresh).
            later = {
                TopicPartition(self.settings.topic(d.topic), d.partition)
                for part, _ in segments[1:]
                for d in part
            }
            await self._each(segments[0][0], stop)
            if later:
                await self._seek_to_stored(sorted(later))

        async def apply() -> None:
            await self._apply(segments)

        await self._guarded(apply, stop, "consumer", fallback=one_by_one)
        elapsed = time.perf_counter() - started
        BATCH_SECONDS.labels(self.name).observe(elapsed)
        HANDLER_SECONDS.labels(self.name).observe(elapsed / len(deliveries))

    async def _each(self, deliveries: Sequence[Delivery], stop: asyncio.Event) -> None:
        """``deliveries`` applied one per transaction; one that fails alone is dead-lettered."""
        for delivery in deliveries:
            envelope = envelope_of(delivery)
            with event_log_context(
                topic=delivery.topic,
                partition=delivery.partition,
                offset=delivery.offset,
                event_id=envelope.id if envelope else None,
            ):
                await self._guarded(
                    lambda d=delivery: self._apply([([d], None)]),  # type: ignore[misc]
                    stop,
                    "consumer",
                    fallback=lambda exc, d=delivery: self._apply(  # type: ignore[misc]
                        [([d], None)], failure=failure_reason(exc)
                    ),
                )

    def _deliveries(self, records: Fetched) -> list[Delivery]:
        """The records to apply now, in partition order; those behind the gate are held."""
        deliveries: list[Delivery] = []
        for tp, batch in records.items():
            limit = self._gate.hold_from(self._logical(tp.topic), tp.partition) if self._gate else None
            for index, record in enumerate(batch):
                if limit is not None and record.offset >= limit:
                    self._held.hold(tp, batch[index:])
                    break
                deliveries.append(_delivery(self._logical(tp.topic), tp.partition, record))
        return deliveries

    async def _guarded(
        self,
        work: Callable[[], Awaitable[object]],
        stop: asyncio.Event,
        component: str,
        fallback: Callable[[Exception], Awaitable[object]] | None = None,
    ) -> None:
        """``work`` retried through transient failures; a lost partition is read again from its
        stored position."""
        try:
            await retrying(
                work,
                stop,
                consumer=self.name,
                component=component,
                fallback=fallback,
                grace=STOP_GRACE_SECONDS,
            )
        except StalePosition as exc:
            log.warning("lost ownership, re-reading from the stored position: %s", exc)
            await self._reseek_all()

    async def _apply(self, segments: Sequence[Segment] | Planner, failure: str | None = None) -> int:
        """Apply the segments' deliveries in one transaction, each segment then its gate action
        (or dead-letter them all with ``failure``, no action taken); return how many there were.
        A planner gives the segments inside the transaction, before any of them is applied."""
        async with AsyncSession(self._engine) as session, session.begin():
            outbox = Outbox(session)
            if callable(segments):
                segments = await segments(session, outbox)
            deliveries = [delivery for part, _ in segments for delivery in part]
            written = None
            if deliveries:
                written = await self._write(session, outbox, segments, deliveries, failure)
                crash_point("handler.before_commit")
        if wrote_outbox(session):
            outbox_committed()  # this process's relay publishes now, not at its next poll
        crash_point("consumer.after_db_commit")
        if written is None:
            return 0
        moved, applied, rejections, repeated = written
        for (topic, partition), offset in moved.items():
            self._next[TopicPartition(self.settings.topic(topic), partition)] = offset
        count_batch(self.name, applied, rejections, repeated, deliveries[0].topic)
        return len(deliveries)

    async def _write(
        self,
        session: AsyncSession,
        outbox: Outbox,
        segments: Sequence[Segment],
        deliveries: Sequence[Delivery],
        failure: str | None,
    ) -> tuple[dict[tuple[str, int], int], Counter[tuple[str, str]], list[Rejection], int]:
        """The transaction's work for ``deliveries``: the positions moved, the events applied (by
        topic and type), those rejected, and how many were repeats.

        Segment by segment: each is decoded, claimed and handled, then its gate action taken,
        before the next is decoded. A segment's events are dropped once it is handled, so a batch
        of many steps (a catch-up passing days of closes) holds one step's decoded events at a
        time, not the whole batch's (``tests/runtime/test_batch_memory.py``)."""
        rejections: list[Rejection] = []
        applied: Counter[tuple[str, str]] = Counter()
        repeated = 0
        for part, action in segments:
            events = self._decoded(part, failure, rejections)
            fresh = await claim(session, self.name, events) if self._deduplicate else events
            repeated += len(events) - len(fresh)
            del events
            if fresh:
                await self._handle(session, outbox, fresh, rejections, applied)
            del fresh  # this step's events are freed before the next step's are decoded
            if action is not None and failure is None:
                await self._gate_action(action, session, outbox)
        send_dead_letters(outbox, rejections, consumer=self.name)
        await outbox.flush()
        moved = await store_positions(session, self.name, deliveries)
        if self._gate is not None and self._stepping is None and failure is None:
            await self._gate_action(self._gate_tick, session, outbox)  # what the batch completed applies
        return moved, applied, rejections, repeated

    @staticmethod
    def _decoded(
        part: Sequence[Delivery], failure: str | None, rejections: list[Rejection]
    ) -> list[Incoming]:
        """``part``'s deliveries decoded and validated; those that are not valid events (all of
        them, with ``failure``) are added to ``rejections``."""
        events: list[Incoming] = []
        for delivery in part:
            if failure is not None:
                rejections.append(Rejection.of(delivery, failure))
                continue
            try:
                envelope = decode(delivery.value)
            except InvalidEvent as exc:
                rejections.append(Rejection(delivery, exc.reason, None))
                continue
            try:
                events.append(Incoming(delivery, validate(envelope, topic=delivery.topic)))
            except InvalidEvent as exc:
                rejections.append(Rejection(delivery, exc.reason, envelope))
        return events

    async def _handle(
        self,
        session: AsyncSession,
        outbox: Outbox,
        events: Sequence[Incoming],
        rejections: list[Rejection],
        applied: Counter[tuple[str, str]],
    ) -> None:
        """Hand ``events`` to the service's handler; add those it rejects to ``rejections`` (their
        claims released) and count the others in ``applied``."""
        batch = Batch(session=session, outbox=outbox, events=events)
        await self._handler(batch)
        if not batch.rejected:
            applied.update((i.delivery.topic, i.event.envelope.type) for i in events)
            return
        refused = [incoming for incoming in events if batch.is_rejected(incoming)]
        if self._deduplicate:
            await release(session, self.name, refused)
        rejections.extend(
            Rejection(i.delivery, batch.rejected[i.delivery.position], i.event.envelope) for i in refused
        )
        applied.update((i.delivery.topic, i.event.envelope.type) for i in events if not batch.is_rejected(i))

    async def _gate_tick(self, session: AsyncSession, _: Outbox) -> None:
        assert self._gate is not None
        await self._gate.tick(session, self.assigned)

    @staticmethod
    async def _gate_action(action: Action, session: AsyncSession, outbox: Outbox) -> None:
        """The gate's work inside a batch: a failure no event is to blame for stops the runner."""
        try:
            await action(session, outbox)
        except Exception as exc:
            if is_transient(exc):
                raise
            raise GateFailed(f"gate failed: {type(exc).__name__}: {exc}") from exc

    async def _tick(self) -> None:
        assert self._gate is not None
        async with AsyncSession(self._engine) as session, session.begin():
            await self._gate.tick(session, self.assigned)
        if wrote_outbox(session):
            outbox_committed()

    # -- assignment ---------------------------------------------------------------------------
    async def _seek_to_stored(self, partitions: Sequence[TopicPartition]) -> None:
        """Seek ``partitions`` to their stored positions (raises :class:`Abandoned` on stop)."""
        consumer = self._consumer
        if consumer is None or not partitions:
            return
        stored = await self._load_positions()
        beginning: list[TopicPartition] = []
        for tp in partitions:
            offset = stored.get((self._logical(tp.topic), tp.partition))
            self._seeks += 1
            self._sought[tp] = self._seeks  # before seeking: records fetched after it are kept
            if offset is None:
                beginning.append(tp)
            else:
                consumer.seek(tp, offset)
                self._next[tp] = offset
        if beginning:  # one look-up of the log starts for them all, not one after the other
            try:
                await unless_stopped(self._stop, consumer.seek_to_beginning(*beginning))
            except Abandoned:
                for tp in beginning:
                    del self._sought[tp]  # not sought: their records are dropped (run)
                raise
        self._held.forget(partitions)

    async def _reseek_all(self) -> None:
        if self._consumer is not None:
            await self._seek_to_stored(sorted(self._consumer.assignment()))

    async def _load_positions(self) -> dict[tuple[str, int], int]:
        """The stored positions, read again through transient failures until the stop."""

        async def read() -> dict[tuple[str, int], int]:
            async with self._engine.connect() as conn:
                return await stored_positions(conn, self.name)

        backoff = Backoff()
        while True:
            try:
                return await unless_stopped(self._stop, read())
            except Exception as exc:
                if not is_transient(exc):
                    raise
                TRANSIENT_FAILURES.labels(self.name, "positions").inc()
                if self._stop.is_set():
                    raise Abandoned from exc
                await sleep_or_stop(self._stop, backoff.next())


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: ConsumerRunner) -> None:
        self._runner = runner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        async with self._runner._lock:  # wait for the batch in hand: its work is committed
            for tp in revoked:
                self._runner._sought.pop(tp, None)
            self._runner._held.forget(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        # Nothing is fetched from Kafka's committed offsets while the stored positions are read:
        # such records would be dropped and fetched again (the seek resumes the partitions).
        consumer = self._runner._consumer
        if consumer is not None and assigned:
            consumer.pause(*assigned)
        async with self._runner._lock:
            try:
                await self._runner._seek_to_stored(sorted(assigned))
            except Abandoned:  # stopping: records of partitions not sought are dropped (run)
                log.info("stopping before the assigned partitions were sought to their stored positions")


def _delivery(topic: str, partition: int, record: Record) -> Delivery:
    return Delivery(
        topic=topic,
        partition=partition,
        offset=record.offset,
        key=record.key,
        value=record.value or b"",
        headers=tuple((name, value or b"") for name, value in record.headers),
        timestamp=record.timestamp,
        timestamp_type=record.timestamp_type,
    )

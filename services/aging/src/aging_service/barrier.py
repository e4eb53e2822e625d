"""Rule 1: the business-day close is a barrier, placed by the close's own position in time.

Core banking publishes ``business-day.closed(D)`` after every event of day D has been
acknowledged, and the next day's events as soon as the close is. The billing, payments and
calendar topics stamp every record with the broker's clock (``message.timestamp.type=
LogAppendTime``), so a record appended before the close carries a timestamp at or below the
close's, and one appended after it a timestamp at or above it. The barrier of a close with
timestamp ``T``, per partition of billing and payments, is therefore read from the log itself,
however late the close is read (a lagging reader, a restart, a replay from the start):

- records stamped before ``T - skew`` are before the close, records stamped after ``T + skew``
  after it (``skew`` is ``BARRIER_CLOCK_SKEW_MS``, 0 on one broker);
- in between (the close's own millisecond, widened by the skew), where the broker's clock cannot
  tell, the events' own CloudEvents ``time`` does (core banking stamps events when it creates
  them, finer than a millisecond), and failing that their business date (:func:`published_after`).
  A partition's records are in append order, so the first record found to be after the close
  makes the barrier, and every later one is after it too.

Two parts apply it. :class:`CalendarReader` reads the calendar in every instance and notes each
close with its barrier offsets. :class:`CloseBarrier` is the account consumer's gate: it applies a
close to the partitions this instance owns once the consumer has stored positions at or past the
close's barriers, and holds back the records at or after them until then. It also holds every
billing and payment record while the calendar reader is behind the calendar's end: a close not
yet noted may sit before those records, so none is applied until every close appended before
they were fetched has been noted. The account events are held with them meanwhile (they carry no
aging fact, so nothing requires it): once the closes are noted they are applied in the same
transaction as the billing and payments, each book loaded and saved once, instead of in one of
their own first (a worker starting on a backlog would otherwise load and save every book of the
accounts it opens twice). Closes are applied one by one in date order (each is a day of
its own, with its own stage changes); a close that jumps several days moves the as-of date
straight there; the partitions a close is due for at the same moment move together.

A batch in hand can pass several closes (a catch-up after an outage reads days of events at
once): the gate's plan splits it at each close's barrier, per partition, and the runner applies,
in the batch's one transaction, the records before the first close, the close (to the partitions
whose records in hand reach its barriers in both topics), the records up to the next close, and
so on. What the records in hand do not reach is held as before.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial

from aiokafka import TopicPartition
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from aging_service.adapters.repository import BookRepository, barrier_state, note_closes
from aging_service.handlers import AgingHandlers
from aging_service.metrics import CLOSES_PENDING, DAY_CLOSE_ACCOUNTS, DAY_CLOSE_SECONDS
from collections_common.events import (
    AccountReaged,
    BusinessDayClosed,
    InvalidEvent,
    PaymentPosted,
    StatementIssued,
    Topics,
    parse,
)
from collections_common.runtime import (
    Batch,
    ConsumerRunner,
    Outbox,
    Step,
    delay_point,
)
from collections_common.runtime.log_clock import LOG_APPEND_TIME, LogClock
from collections_common.settings import ServiceSettings

BARRIER_TOPICS = (Topics.BILLING, Topics.PAYMENTS)
"""The close waits for these. Account events carry no aging fact, so they are not held."""

TIMESTAMP_TOPICS = (*BARRIER_TOPICS, Topics.CALENDAR)
"""Topics whose records must carry the broker's append time for the barrier to be exact."""


@dataclass(frozen=True)
class NotedClose:
    business_date: date
    event_id: str
    barrier: dict[str, dict[str, int]]

    def offset(self, topic: str, partition: int) -> int:
        return self.barrier.get(topic, {}).get(str(partition), 0)


@dataclass(frozen=True)
class CloseStamp:
    """Where a close stands among the events: its date, broker timestamp and CloudEvents time."""

    business_date: date
    timestamp_ms: int
    time: datetime | None


class BarrierLocator:
    """Finds, per partition of billing and payments, the first offset after a close."""

    def __init__(self, settings: ServiceSettings, clock: LogClock, *, skew_ms: int = 0) -> None:
        self._settings = settings
        self._clock = clock
        self._skew_ms = skew_ms

    async def barrier(self, close: CloseStamp) -> dict[str, dict[str, int]]:
        return (await self.barriers([close]))[0]

    async def barriers(self, closes: Sequence[CloseStamp]) -> list[dict[str, dict[str, int]]]:
        """The barriers of ``closes``, located together: one look-up of the ends, then the
        look-ups by time at once (a calendar read after an outage holds many closes): one per
        close's low time, and one per high time only where the first of those cannot tell it."""
        if not closes:
            return []
        # Everything stamped up to T + skew is in the log once the broker's clock has passed it.
        await _sleep_until_ms(max(close.timestamp_ms for close in closes) + self._skew_ms + 1)
        partitions = [tp for topic in BARRIER_TOPICS for tp in await self._clock.partitions(topic)]
        # The ends first: whatever is appended after this look-up is stamped after every close's
        # T + skew (the clock has passed them), so it is after them. A look-up by time finds
        # nothing (None) when nothing stamped that late is in the log yet: then everything up to
        # the end is before. Looked up the other way round, a record appended between the two
        # look-ups would sit below the end and pass for one published before the close.
        ends = await self._clock.end_offsets(BARRIER_TOPICS)
        # A Kafka look-up carries one time per partition: one request per time, all in flight at
        # once. The low times first; the record found at a close's low time tells its high time
        # too when it is stamped at or after it (a partition's records are in time order), so a
        # high time is looked up only for the partitions where that record is not.
        lows = sorted({self._low(close) for close in closes})
        at_low = dict(
            zip(
                lows,
                await asyncio.gather(*(self._clock.first_stamped_at_or_after(partitions, t) for t in lows)),
                strict=True,
            )
        )
        unsure: dict[int, list[TopicPartition]] = {}
        for close in closes:
            high_ms, found = self._high(close), at_low[self._low(close)]
            for tp in partitions:
                hit = found[tp]
                if (
                    hit is not None
                    and (hit[1] is None or hit[1] < high_ms)
                    and tp not in unsure.get(high_ms, ())
                ):
                    unsure.setdefault(high_ms, []).append(tp)
        highs = sorted(unsure)
        at_high = dict(
            zip(
                highs,
                await asyncio.gather(*(self._clock.first_at_or_after(unsure[t], t) for t in highs)),
                strict=True,
            )
        )
        located = []
        for close in closes:
            found, looked_up = at_low[self._low(close)], at_high.get(self._high(close), {})
            low = {tp: None if hit is None else hit[0] for tp, hit in found.items()}
            high = {tp: looked_up[tp] if tp in looked_up else low[tp] for tp in partitions}
            located.append(await self._placed(close, partitions, ends, low, high))
        return located

    async def _placed(
        self,
        close: CloseStamp,
        partitions: Sequence[TopicPartition],
        ends: dict[tuple[str, int], int],
        low: dict[TopicPartition, int | None],
        high: dict[TopicPartition, int | None],
    ) -> dict[str, dict[str, int]]:
        """The barrier of ``close`` from the first offsets stamped at or after its low and high
        times, per partition."""
        barrier: dict[str, dict[str, int]] = {topic: {} for topic in BARRIER_TOPICS}
        for tp in partitions:
            topic = tp.topic.removeprefix(self._settings.kafka_topic_prefix)
            end = ends[(topic, tp.partition)]
            first_low, first_high = low[tp], high[tp]
            start = end if first_low is None else min(first_low, end)
            stop = end if first_high is None else min(first_high, end)
            offset = stop
            if start < stop:  # records the clock cannot place: ask what they say
                for record in await self._clock.read(tp, start, stop):
                    if published_after(record.value or b"", topic, close):
                        offset = record.offset
                        break
            barrier[topic][str(tp.partition)] = offset
        return barrier

    def _low(self, close: CloseStamp) -> int:
        return max(0, close.timestamp_ms - self._skew_ms)

    def _high(self, close: CloseStamp) -> int:
        return close.timestamp_ms + self._skew_ms + 1


def published_after(value: bytes, topic: str, close: CloseStamp) -> bool:
    """For a record stamped in the close's own millisecond: does it belong after the close?

    Core banking stamps each event's CloudEvents ``time`` when it creates it, on one clock finer
    than the broker's millisecond: a ``time`` later than the close's is after it, an earlier one
    before it. Without a ``time`` that tells (missing on either side, or equal), a business date
    later than the close's (``statement_date``, ``value_date``, ``effective_date``) is after it;
    anything else is before it, a record that cannot be read included (it is dead-lettered
    wherever it stands).
    """
    try:
        event = parse(value, topic=topic)
    except InvalidEvent:
        return False
    sent = event.envelope.time
    if sent is not None and close.time is not None and sent != close.time:
        return sent > close.time
    dated = _business_date(event.data)
    return dated is not None and dated > close.business_date


def _business_date(data: object) -> date | None:
    match data:
        case StatementIssued():
            return data.statement_date
        case PaymentPosted():
            return data.value_date
        case AccountReaged():
            return data.effective_date
    return None


async def _sleep_until_ms(epoch_ms: int) -> None:
    wait = epoch_ms / 1000 - time.time()
    if wait > 0:
        await asyncio.sleep(min(wait, 5.0))


class CalendarReader:
    """A worker component reading ``corebank.calendar.v1`` in every instance (no consumer group):
    it notes each close with its barrier offsets, for the instances' gates to apply."""

    def __init__(self, settings: ServiceSettings, engine: AsyncEngine, *, skew_ms: int = 0) -> None:
        self._settings = settings
        self._clock = LogClock(settings)
        self._locator = BarrierLocator(settings, self._clock, skew_ms=skew_ms)
        self.name = calendar_reader_name(settings)
        self._runner = ConsumerRunner(
            settings=settings,
            engine=engine,
            topics=(Topics.CALENDAR,),
            handler=self.handle_batch,
            name=self.name,
            group=False,
        )

    async def run(self, stop: asyncio.Event) -> None:
        # The look-ups' client and partitions meanwhile: a reader starting behind the calendar
        # (after an outage) holds every billing and payment record until it has noted its closes.
        preparing = asyncio.ensure_future(self._clock.prepare(BARRIER_TOPICS))
        try:
            await self._clock.check_log_append_time(TIMESTAMP_TOPICS)
            await self._runner.run(stop)
        finally:
            preparing.cancel()
            await asyncio.gather(preparing, return_exceptions=True)
            await self._clock.stop()

    async def handle_batch(self, batch: Batch) -> None:
        """Note every close of the batch, their barriers located together."""
        closes: list[tuple[CloseStamp, str]] = []
        for incoming in batch.events:
            data = incoming.event.data
            if not isinstance(data, BusinessDayClosed):
                continue
            if incoming.delivery.timestamp_type != LOG_APPEND_TIME:
                batch.reject(incoming, "close not stamped with the broker's append time")
                continue
            stamp = CloseStamp(data.business_date, incoming.delivery.timestamp, incoming.event.envelope.time)
            closes.append((stamp, incoming.event.envelope.id))
        if not closes:
            return
        await delay_point("calendar.before_note")

        barriers = await self._locator.barriers([stamp for stamp, _ in closes])
        await note_closes(
            batch.session,
            [
                (stamp.business_date, event_id, barrier)
                for (stamp, event_id), barrier in zip(closes, barriers, strict=True)
            ],
        )


def calendar_reader_name(settings: ServiceSettings) -> str:
    """The name the calendar reader stores its positions under (shared by every instance)."""
    return f"{settings.consumer_group}-calendar"


class CloseBarrier:
    """The consumer runner's gate: holds post-close records and applies closes when due."""

    def __init__(self, handlers: AgingHandlers, settings: ServiceSettings) -> None:
        self._handlers = handlers
        self._consumer = settings.consumer_group
        self._calendar_reader = calendar_reader_name(settings)
        self._clock = LogClock(settings)
        self._limits: dict[tuple[str, int], int] = {}
        self._positions: dict[tuple[str, int], int] = {}
        self._waiting: dict[int, list[NotedClose]] = {}  # per partition, its closes not applied yet

    def hold_from(self, topic: str, partition: int) -> int | None:
        return self._limits.get((topic, partition))

    def plan(self, reach: Mapping[tuple[str, int], int]) -> list[Step]:
        """Split the records in hand at every close they let a partition pass (as of the last tick).

        A partition passes its next close when its positions, once the records in hand are
        applied, reach the close's barriers in billing and payments; then its records up to the
        close's barriers go before the close and the rest after it, up to its next close.
        """
        passed: dict[int, list[NotedClose]] = {}
        for partition, closes in self._waiting.items():
            passed[partition] = []
            for close in closes:
                if not all(
                    max(self._positions.get((t, partition), 0), reach.get((t, partition), 0))
                    >= close.offset(t, partition)
                    for t in BARRIER_TOPICS
                ):
                    break
                passed[partition].append(close)
        by_date = {close.business_date: close for closes in passed.values() for close in closes}
        last = max(by_date, default=None)
        steps = [
            Step(
                self._below(passed, day),
                partial(
                    self._apply,
                    by_date[day],
                    sorted(
                        partition
                        for partition, closes in passed.items()
                        if any(c.business_date == day for c in closes)
                    ),
                    last,
                ),
            )
            for day in sorted(by_date)
        ]
        held = dict(self._limits)  # what the records in hand do not pass stays held
        for partition, closes in self._waiting.items():
            beyond = closes[len(passed[partition]) :]
            for topic in BARRIER_TOPICS:
                if beyond:
                    held[(topic, partition)] = beyond[0].offset(topic, partition)
                else:
                    held.pop((topic, partition), None)
        steps.append(Step(held, None))
        return steps

    def _below(self, passed: dict[int, list[NotedClose]], day: date) -> dict[tuple[str, int], int]:
        """Before the close of ``day``: per partition, up to its first close not before that day,
        or its first close the records in hand do not pass (what comes after it stays held)."""
        below: dict[tuple[str, int], int] = {}
        for partition, closes in self._waiting.items():
            done = len(passed[partition])
            following = next(
                (c for index, c in enumerate(closes) if c.business_date >= day or index >= done), None
            )
            if following is not None:
                for topic in BARRIER_TOPICS:
                    below[(topic, partition)] = following.offset(topic, partition)
        return below

    async def _apply(
        self,
        close: NotedClose,
        partitions: list[int],
        last_close: date | None,
        session: AsyncSession,
        outbox: Outbox,
    ) -> None:
        """Apply ``close``, a step of a batch whose closes go on to ``last_close``."""
        started = time.perf_counter()
        touched = await self._handlers.apply_close(
            session, outbox, partitions, close.business_date, close.event_id, last_close=last_close
        )
        DAY_CLOSE_SECONDS.observe(time.perf_counter() - started)
        DAY_CLOSE_ACCOUNTS.inc(touched)

    async def close(self) -> None:
        await self._clock.stop()

    async def tick(self, session: AsyncSession, assigned: Sequence[tuple[str, int]]) -> None:
        owned = sorted({partition for topic, partition in assigned if topic in BARRIER_TOPICS})
        self._waiting = {}
        if not owned:
            self._limits = {}
            return
        # The calendar's end from Kafka while the database answers (one statement): the end is
        # looked up after the records in hand were fetched, whichever of the two finishes first.
        looking_up = asyncio.ensure_future(self._clock.end_offsets((Topics.CALENDAR,)))
        try:
            state = await barrier_state(session, self._consumer, self._calendar_reader, owned)
        except BaseException:
            looking_up.cancel()
            await asyncio.gather(looking_up, return_exceptions=True)
            raise
        calendar_end = await looking_up
        positions = self._positions = state.positions
        if any(state.read.get(tp, 0) < end for tp, end in calendar_end.items()):
            # A close not noted yet may stand before any record fetched so far: hold them all,
            # the account events with them (see the module's docstring).
            self._limits = {(topic, p): positions.get((topic, p), 0) for topic, p in assigned}
            CLOSES_PENDING.set(len(owned))
            return
        # The transaction's own clocks win over the stored ones (a close it applied is not saved
        # yet); the closes read may then start earlier than needed, and those are skipped below.
        clocks = BookRepository.of(session, self._handlers.policy).adopt_clocks(owned, state.clocks)
        closes = [NotedClose(row.day, row.event_id, row.barrier) for row in state.closes]
        if not closes:
            self._limits = {}
            CLOSES_PENDING.set(0)
            return
        outbox = Outbox(session)
        limits: dict[tuple[str, int], int] = {}
        blocked: set[int] = set()  # partitions waiting for a close: later closes wait behind it
        due: list[tuple[NotedClose, list[int]]] = []  # each close with the partitions it moves now
        for close in closes:
            ready: list[int] = []
            for partition in owned:
                if clocks.get(partition) is not None and close.business_date <= clocks[partition]:
                    continue  # rule 1: a close not after the last closed date changes nothing
                if partition not in blocked and not all(
                    positions.get((t, partition), 0) >= close.offset(t, partition) for t in BARRIER_TOPICS
                ):
                    blocked.add(partition)
                    for topic in BARRIER_TOPICS:  # hold what was published after this close
                        limits[(topic, partition)] = close.offset(topic, partition)
                if partition in blocked:  # this close and the later ones wait (see ``plan``)
                    self._waiting.setdefault(partition, []).append(close)
                    continue
                ready.append(partition)
            if ready:  # the partitions this close is due for move together
                due.append((close, ready))
        last = max((close.business_date for close, _ in due), default=None)
        for close, ready in due:
            await self._apply(close, ready, last, session, outbox)
        await outbox.flush()
        self._limits = limits
        CLOSES_PENDING.set(len(blocked))

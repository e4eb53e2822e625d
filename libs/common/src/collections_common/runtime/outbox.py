"""The transactional outbox: handlers append events in their own transaction; a relay publishes.

Rows are spread over ``LANES`` lanes by a hash of the key. A relay publishes a lane only while it
holds that lane's PostgreSQL advisory lock, in id order, so one key's events leave in the order
they were committed and several relays never publish the same row in normal operation. A row
is marked sent only once Kafka acknowledged it, so the one window for a duplicate is a batch a
relay sent but did not mark: one it died with after Kafka acknowledged it and before it marked
it, or one it gave up waiting for when stopped (the broker gone or too slow), which Kafka may
have written all the same. The next relay publishes those rows again with the same event ids,
which consumers absorb by identity.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import BigInteger, Integer, Row, all_, any_, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from collections_common.bulk import insert_rows
from collections_common.events import CloudEvent, encode
from collections_common.metrics import (
    OUTBOX_BACKLOG,
    OUTBOX_LANES,
    OUTBOX_PUBLISH_SECONDS,
    OUTBOX_PUBLISHED,
    TRANSIENT_FAILURES,
)
from collections_common.runtime._aio import STOP_GRACE_SECONDS, sleep_or_stop, sleep_or_wake, unless_stopped
from collections_common.runtime.errors import Abandoned, is_transient
from collections_common.runtime.faults import crash_point
from collections_common.runtime.kafka import new_producer
from collections_common.runtime.tables import outbox
from collections_common.settings import ServiceSettings

LANES = 16
_LOCK_NAMESPACE = 0x0C0B  # advisory lock class id of outbox lanes
log = logging.getLogger(__name__)

Header = tuple[str, bytes]
"""A Kafka header: its name and its value, any bytes."""


def lane_of(key: bytes | None) -> int:
    return zlib.crc32(key or b"") % LANES


_RELAYS_WAITING: set[asyncio.Event] = set()
_WRITTEN = "collections_outbox_written"


def wrote_outbox(session: AsyncSession) -> bool:
    """Whether an ``Outbox`` flushed rows in ``session`` (to wake the relay once it commits)."""
    return bool(session.info.get(_WRITTEN))


def outbox_committed() -> None:
    """Wake the relays of this process: outbox rows were just committed, so a relay waiting out
    its poll interval publishes them at once. Relays of other processes find them by polling."""
    for wake in _RELAYS_WAITING:
        wake.set()


@dataclass
class Outbox:
    """Collects outgoing messages of one transaction; ``flush`` writes them in that transaction."""

    session: AsyncSession
    _rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, topic: str, event: CloudEvent, *, key: str | None) -> None:
        self._rows.append(event_row(topic, event, key=key))

    def add_raw(
        self, topic: str, key: bytes | None, payload: bytes, headers: Sequence[Header], event_id: str | None
    ) -> None:
        self._rows.append(outbox_row(topic, key, payload, headers, event_id))

    def __len__(self) -> int:
        return len(self._rows)

    def truncate(self, length: int) -> None:
        """Forget the messages added after the first ``length`` (their work was rolled back)."""
        del self._rows[length:]

    async def flush(self) -> None:
        if self._rows:
            await insert_rows(self.session, outbox, self._rows)
            self._rows.clear()
            self.session.info[_WRITTEN] = True


def outbox_row(
    topic: str, key: bytes | None, payload: bytes, headers: Sequence[Header], event_id: str | None
) -> dict[str, Any]:
    """The outbox row of a message, by column (``headers`` as a list for JSONB): what ``Outbox``
    writes, for a statement that writes it itself (``event_row`` for an event)."""
    return {
        "lane": lane_of(key),
        "topic": topic,
        "key": key,
        "payload": payload,
        "headers": [_stored(name, value) for name, value in headers],
        "event_id": event_id,
    }


def event_row(topic: str, event: CloudEvent, *, key: str | None) -> dict[str, Any]:
    """The outbox row ``Outbox.add`` writes for ``event``."""
    return outbox_row(topic, key.encode() if key is not None else None, encode(event), (), event.id)


def _stored(name: str, value: bytes) -> list[str]:
    """A header as the outbox keeps it: name and value in base64, so any bytes fit in JSONB
    (which refuses NUL) and come back unchanged."""
    raw_name = name.encode("utf-8", "surrogateescape")
    return [base64.b64encode(raw_name).decode("ascii"), base64.b64encode(value).decode("ascii")]


def _header(stored: Sequence[str]) -> tuple[str, bytes]:
    """The header to publish from its stored form. Kafka clients take a header name as text:
    bytes of a name that are not UTF-8 are written as ``\\xNN`` escapes."""
    name = base64.b64decode(stored[0]).decode("utf-8", "backslashreplace")
    return name, base64.b64decode(stored[1])


_SENT_IDS = bindparam("sent", type_=ARRAY(BigInteger))
"""The ids of the batch the relay had acknowledged last, not yet marked sent."""

_NEXT_ROWS = (
    select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.payload, outbox.c.headers, outbox.c.created_at)
    .add_cte(
        update(outbox)
        .where(outbox.c.id == any_(_SENT_IDS))
        .values(published_at=bindparam("sent_at", type_=outbox.c.published_at.type))
        .cte("marked")
    )
    # The statement reads the rows as they were before its own update: the marked ones are left out.
    .where(
        outbox.c.published_at.is_(None),
        outbox.c.lane == any_(bindparam("lanes", type_=ARRAY(Integer))),
        outbox.c.id != all_(_SENT_IDS),
    )
    .order_by(outbox.c.id)
    .limit(bindparam("limit"))
)
"""One statement: mark the batch acknowledged last as sent, and read the next rows to publish."""


class OutboxRelay:
    """Publishes committed outbox rows to Kafka with an idempotent producer (``acks=all``)."""

    def __init__(
        self, engine: AsyncEngine, settings: ServiceSettings, *, retention_s: float = 86400.0
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._retention_s = retention_s
        self._lanes: set[int] = set()
        self._lock_conn: AsyncConnection | None = None
        self._producer: AIOKafkaProducer | None = None
        self._unmarked: tuple[tuple[int, ...], datetime | None] = ((), None)
        self._stop = asyncio.Event()  # ``run``'s
        TRANSIENT_FAILURES.labels(settings.consumer_group, "outbox")  # exported at 0 before any failure

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until ``stop``; when nothing is left, wait the poll interval, or less when this
        process commits outbox rows (``outbox_committed``).

        Once ``stop`` is set, the batch in hand has ``STOP_GRACE_SECONDS`` to be acknowledged by
        Kafka (a broker that is gone never acknowledges it: the idempotent producer retries it
        until the broker is back). Then the relay gives it up: its rows stay unmarked, so the
        next relay publishes them (again, if Kafka wrote them after all), and the producer is
        closed without sending them. The batch acknowledged before is marked sent either way.
        """
        self._stop = stop
        backoff = 0.2
        last_claim = last_cleanup = 0.0
        wake = asyncio.Event()
        _RELAYS_WAITING.add(wake)
        producer_grace = STOP_GRACE_SECONDS
        try:
            while not stop.is_set():
                try:
                    wake.clear()  # a commit from here on wakes the wait below
                    now = time.monotonic()
                    if now - last_claim > 2.0 or not self._lanes:
                        await self._claim_lanes()
                        OUTBOX_BACKLOG.set(await self.backlog())
                        last_claim = now
                    if self._producer is None:
                        self._producer = await new_producer(self._settings)
                    published = await self.publish_once()
                    if now - last_cleanup > 60.0:
                        await self._cleanup()
                        last_cleanup = now
                    backoff = 0.2
                    if published == 0:
                        await sleep_or_wake(stop, wake, self._settings.outbox_poll_interval_ms / 1000)
                except Abandoned:
                    log.warning(
                        "stopping with the batch in hand not acknowledged by Kafka; its rows stay"
                        " unmarked and the next relay publishes them"
                    )
                    producer_grace = 0.0  # the batch had its grace: the producer drops it at once
                    break
                except Exception as exc:
                    if not is_transient(exc):
                        raise
                    TRANSIENT_FAILURES.labels(self._settings.consumer_group, "outbox").inc()
                    log.warning("outbox relay paused: %s", exc)
                    await self._release_lanes()
                    await self._stop_producer(STOP_GRACE_SECONDS)
                    await sleep_or_stop(stop, backoff)
                    backoff = min(backoff * 2, 5.0)
        finally:
            _RELAYS_WAITING.discard(wake)
            try:
                await self._mark_sent()
            except Exception:  # unmarked rows are published again after a restart
                log.warning("could not mark the last batch sent; it will be published again", exc_info=True)
            await self._release_lanes()
            await self._stop_producer(producer_grace)

    async def publish_once(self) -> int:
        """Publish one batch from the lanes held; return how many rows were sent.

        The rows of the batch before are marked sent by the same statement that reads this one
        (on the relay's own connection, committed at once), so marking costs no round trip of
        its own and a batch is marked before the next one is sent: at most one acknowledged
        batch is ever unmarked. Raises :class:`Abandoned` when ``run``'s stop is set and Kafka
        has not acknowledged the batch ``STOP_GRACE_SECONDS`` later.
        """
        if not self._lanes or self._producer is None or self._lock_conn is None:
            return 0
        sent, sent_at = self._unmarked
        rows = (
            await self._lock_conn.execute(
                _NEXT_ROWS,
                {
                    "sent": list(sent),
                    "sent_at": sent_at,
                    "lanes": sorted(self._lanes),
                    "limit": self._settings.outbox_batch_size,
                },
            )
        ).all()
        self._unmarked = ((), sent_at)
        if not rows:
            OUTBOX_BACKLOG.set(0)
            return 0
        await unless_stopped(self._stop, self._send(self._producer, rows), grace=STOP_GRACE_SECONDS)
        crash_point("relay.after_publish")
        acknowledged = datetime.now(UTC)
        self._unmarked = (tuple(row.id for row in rows), acknowledged)
        for row in rows:
            OUTBOX_PUBLISHED.labels(row.topic).inc()
            OUTBOX_PUBLISH_SECONDS.observe(max(0.0, (acknowledged - row.created_at).total_seconds()))
        if len(rows) < self._settings.outbox_batch_size:
            OUTBOX_BACKLOG.set(0)
        return len(rows)

    async def _send(self, producer: AIOKafkaProducer, rows: Sequence[Row[*tuple[Any, ...]]]) -> None:
        """Send ``rows`` and wait until Kafka acknowledged every one."""
        futures = [
            await producer.send(
                self._settings.topic(row.topic),
                value=row.payload,
                key=row.key,
                headers=[_header(stored) for stored in row.headers],
            )
            for row in rows
        ]
        await asyncio.gather(*futures)

    async def _mark_sent(self) -> None:
        """Mark the last batch sent now (on stopping), so a restart does not publish it again."""
        sent, sent_at = self._unmarked
        if not sent:
            return
        async with self._engine.begin() as conn:
            await conn.execute(
                update(outbox).where(outbox.c.id == any_(_SENT_IDS)).values(published_at=sent_at),
                {"sent": list(sent)},
            )
        self._unmarked = ((), sent_at)

    async def backlog(self) -> int:
        """Rows not yet published in the lanes this relay holds (refreshed every claim cycle)."""
        if not self._lanes:
            return 0
        async with self._engine.connect() as conn:
            result = await conn.execute(
                select(func.count())
                .select_from(outbox)
                .where(outbox.c.published_at.is_(None), outbox.c.lane.in_(sorted(self._lanes)))
            )
            return int(result.scalar_one())

    async def _claim_lanes(self) -> None:
        if self._lock_conn is None:
            # Autocommit: each statement on it commits at once (the advisory locks are the session's).
            self._lock_conn = await (await self._engine.connect()).execution_options(
                isolation_level="AUTOCOMMIT"
            )
        for lane in range(LANES):
            if lane in self._lanes:
                continue
            got = await self._lock_conn.scalar(
                text("SELECT pg_try_advisory_lock(:ns, :lane)"), {"ns": _LOCK_NAMESPACE, "lane": lane}
            )
            await self._lock_conn.commit()
            if got:
                self._lanes.add(lane)
        OUTBOX_LANES.set(len(self._lanes))

    async def _release_lanes(self) -> None:
        conn, self._lock_conn = self._lock_conn, None
        self._lanes.clear()
        OUTBOX_LANES.set(0)
        if conn is not None:
            try:
                await conn.close()  # session advisory locks end with the connection
            except Exception:  # noqa: BLE001 - the connection may already be gone
                await conn.invalidate()

    async def _stop_producer(self, grace: float) -> None:
        """Stop the producer. aiokafka's ``stop`` first waits until Kafka acknowledged every
        message the producer holds, for as long as the broker is gone; once ``run``'s stop is
        set, that wait has ``grace`` seconds more. Then what the producer holds is dropped,
        never sent: aiokafka has no stop that drops it (aio-libs/aiokafka#1101), but its
        ``stop`` closes the connections once the producer's sender task ends, and a cancelled
        sender ends when its requests in flight are answered or fail. A request to a broker that
        does not answer holds that up until its timeout: the connections are then left to the
        process, ``STOP_GRACE_SECONDS`` later."""
        producer, self._producer = self._producer, None
        if producer is None:
            return
        stopping = asyncio.ensure_future(producer.stop())
        try:
            try:
                await unless_stopped(self._stop, asyncio.shield(stopping), grace=grace)
            except Abandoned:
                producer._sender.sender_task.cancel()
                await asyncio.wait_for(stopping, STOP_GRACE_SECONDS)
        except Exception:
            log.debug("producer stop failed", exc_info=True)

    async def _cleanup(self) -> None:
        """Forget rows published longer ago than the retention."""
        async with self._engine.begin() as conn:
            await conn.execute(
                outbox.delete().where(
                    outbox.c.published_at
                    < func.now() - func.make_interval(0, 0, 0, 0, 0, 0, self._retention_s)
                )
            )

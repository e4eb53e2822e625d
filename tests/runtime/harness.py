"""What the runtime tests share: payments to produce, the ledger worker as a process, reading it all back.

Every wait has a deadline; a worker that dies while it is waited for fails the test with its log.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord, RecordMetadata

from collections_common.database import create_engine
from collections_common.events import EventTypes, PaymentPosted, Topics, decode, encode, new_event
from collections_common.runtime import BatchHandler, ConsumerRunner, Gate
from collections_common.runtime.outbox import _LOCK_NAMESPACE, LANES
from devstack._process import REPO_ROOT, free_port
from tests.processes import ServiceProcess, wait_for_status
from tests.runtime.ledger_service import CONSUMER_NAME, SERVICE, LedgerSettings, outbound_id

INPUT = Topics.PAYMENTS
OUTPUT = Topics.DELINQUENCY
DLQ = f"{Topics.PAYMENTS}.dlq"
INPUT_SOURCE = "corebank"

CONSUMER_BATCH_MAX = 20
"""Small consumer batches: a few hundred payments make many transactions, so a crash lands mid-stream."""
OUTBOX_BATCH_SIZE = 50
"""Rows the relay publishes at once: the most a relay crash may duplicate on the output topic."""


# -- input ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Payment:
    id: str
    account_id: str
    amount: int
    channel: str | None = None

    @property
    def key(self) -> bytes:
        return self.account_id.encode()

    def encode(self) -> bytes:
        data = PaymentPosted(
            account_id=self.account_id,
            payment_id=self.id,
            amount_minor=self.amount,
            currency="CNY",
            value_date=date(2026, 1, 25),
            **({"channel": self.channel} if self.channel is not None else {}),
        )
        event = new_event(
            EventTypes.PAYMENT_POSTED,
            INPUT_SOURCE,
            self.account_id,
            data,
            id=self.id,
            time=datetime(2026, 1, 25, 16, tzinfo=UTC),
        )
        return encode(event)


def payments(count: int, *, accounts: int = 40, start: int = 0, tag: str = "pay") -> list[Payment]:
    """``count`` payments spread round-robin over ``accounts`` accounts, with varied amounts."""
    return [
        Payment(id=f"{tag}-{i:05d}", account_id=f"ACC-{i % accounts:03d}", amount=1 + (i * 7919) % 100_000)
        for i in range(start, start + count)
    ]


def expected_balances(applied: Iterable[Payment]) -> dict[str, int]:
    """What ``balances`` must hold when each distinct payment was applied exactly once."""
    totals: dict[str, int] = {}
    for payment in {p.id: p for p in applied}.values():
        totals[payment.account_id] = totals.get(payment.account_id, 0) + payment.amount
    return totals


async def produce(
    bootstrap: str, topic: str, records: Sequence[tuple[bytes | None, bytes]]
) -> list[RecordMetadata]:
    """Send ``(key, value)`` records with an idempotent producer; return where each landed."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        futures = [await producer.send(topic, value=value, key=key) for key, value in records]
        return list(await asyncio.wait_for(asyncio.gather(*futures), timeout=60))
    finally:
        await producer.stop()


async def produce_payments(bootstrap: str, topic: str, batch: Sequence[Payment]) -> list[RecordMetadata]:
    return await produce(bootstrap, topic, [(p.key, p.encode()) for p in batch])


# -- reading topics back ----------------------------------------------------------------------
async def partitions_of(bootstrap: str, topic: str) -> list[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    numbers = sorted(int(p["partition"]) for d in described for p in d.get("partitions") or ())
    assert numbers, f"topic {topic} does not exist"
    return numbers


async def _consumer(bootstrap: str, topic: str) -> tuple[AIOKafkaConsumer, list[TopicPartition]]:
    """A started consumer without a group, and the partitions of ``topic``, not assigned yet: a
    consumer with partitions assigned keeps a fetch waiting on the broker (up to 500 ms when
    they have nothing new), and its requests for the end offsets queue behind it."""
    partitions = [TopicPartition(topic, number) for number in await partitions_of(bootstrap, topic)]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    await consumer.start()
    return consumer, partitions


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer, partitions = await _consumer(bootstrap, topic)
    try:
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    return {tp.partition: offset for tp, offset in ends.items()}


async def read_all(bootstrap: str, topic: str, timeout: float = 30) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topic`` up to its current end, read without a consumer group."""
    consumer, partitions = await _consumer(bootstrap, topic)
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        ends = await consumer.end_offsets(partitions)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        deadline = time.monotonic() + timeout
        remaining = [tp for tp in partitions if ends[tp] > 0]
        while remaining:
            assert time.monotonic() < deadline, f"could not read {topic} to its end within {timeout}s"
            for batch in (await consumer.getmany(*remaining, timeout_ms=500)).values():
                records.extend(batch)
            remaining = [tp for tp in remaining if await consumer.position(tp) < ends[tp]]
    finally:
        await consumer.stop()
    return sorted(records, key=lambda r: (r.partition, r.offset))


@dataclass
class Output:
    """The output topic as a consumer sees it: raw records, and deduplicated by event identity."""

    records: list[ConsumerRecord[bytes, bytes]]
    ids: Counter[str] = field(init=False)
    first: dict[str, ConsumerRecord[bytes, bytes]] = field(init=False)

    def __post_init__(self) -> None:
        self.ids = Counter()
        self.first = {}
        for record in self.records:
            event = decode(record.value)
            identity = f"{event.source}|{event.id}"
            self.ids[event.id] += 1
            self.first.setdefault(identity, record)

    @property
    def duplicates(self) -> int:
        """Records beyond the first of their event id."""
        return len(self.records) - len(self.ids)

    def deduplicated_ids_per_account(self) -> dict[str, list[str]]:
        """What a consumer deduplicating by (source, id) applies, per account, in topic order."""
        ordered: dict[str, list[str]] = {}
        for record in sorted(self.first.values(), key=lambda r: (r.partition, r.offset)):
            ordered.setdefault((record.key or b"").decode(), []).append(decode(record.value).id)
        return ordered


async def read_output(bootstrap: str, prefix: str) -> Output:
    return Output(await read_all(bootstrap, f"{prefix}{OUTPUT}"))


def assert_output_matches(output: Output, applied: Sequence[Payment]) -> None:
    """Every applied payment caused its one outbound event, in each account's input order.

    Duplicates (if any) must be byte-for-byte copies of the first one, so deduplicating by
    identity gives exactly the events that were committed.
    """
    expected = {outbound_id(p.id) for p in applied}
    missing, unexpected = sorted(expected - set(output.ids)), sorted(set(output.ids) - expected)
    assert not missing and not unexpected, f"missing {missing[:10]}, unexpected {unexpected[:10]}"
    by_id = {decode(r.value).id: r for r in output.first.values()}
    for record in output.records:
        first = by_id[decode(record.value).id]
        assert (record.partition, record.key, record.value) == (first.partition, first.key, first.value)
    per_account: dict[str, list[str]] = {}
    for payment in {p.id: p for p in applied}.values():
        per_account.setdefault(payment.account_id, []).append(outbound_id(payment.id))
    assert output.deduplicated_ids_per_account() == per_account


# -- the ledger's database --------------------------------------------------------------------
@dataclass
class LedgerState:
    balances: dict[str, int]
    applied: dict[str, int]
    positions: dict[int, int]
    consumers: set[str]
    pending_outbox: int
    outbox_ids_written_twice: dict[str, int]
    processed: set[str]
    """Ids of the events recorded as processed by the ledger's consumer."""

    @property
    def over_applied(self) -> dict[str, int]:
        """Event ids applied more than once (must always be empty)."""
        return {event_id: times for event_id, times in self.applied.items() if times != 1}


def _dsn(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://")


@contextlib.asynccontextmanager
async def running_until_applied(
    runner: ConsumerRunner, database_url: str, count: int, *, timeout: float = 60
) -> AsyncIterator[None]:
    """Run ``runner`` in this process until ``count`` events are applied, then the block; the
    runner is stopped (and awaited) after it."""
    stop = asyncio.Event()
    running = asyncio.create_task(runner.run(stop))
    try:
        async with asyncio.timeout(timeout):
            while len((await read_state(database_url)).applied) < count:
                assert not running.done(), "the runner stopped"
                await asyncio.sleep(0.1)
        yield
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=30)


@contextlib.asynccontextmanager
async def applying_in_process(
    ledger: Ledger, handler: BatchHandler, count: int, *, gate: Gate | None = None
) -> AsyncIterator[None]:
    """Run a ledger consumer in this process with ``handler`` (and ``gate``) until ``count``
    payments are applied, then the block (``running_until_applied``)."""
    settings = ledger.settings()
    engine = create_engine(settings, pre_ping=False)
    runner = ConsumerRunner(
        settings=settings, engine=engine, topics=[INPUT], handler=handler, name=CONSUMER_NAME, gate=gate
    )
    try:
        async with running_until_applied(runner, ledger.database_url, count):
            yield
    finally:
        await engine.dispose()


async def read_state(database_url: str) -> LedgerState:
    conn = await asyncpg.connect(_dsn(database_url), timeout=5)
    try:
        balances = {r["account_id"]: r["total"] for r in await conn.fetch("SELECT * FROM balances")}
        applied = {r["event_id"]: r["times"] for r in await conn.fetch("SELECT * FROM applied")}
        rows = await conn.fetch(
            "SELECT consumer, partition, next_offset FROM consumer_positions WHERE topic = $1", INPUT
        )
        pending = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        twice = await conn.fetch(
            "SELECT event_id, count(*) AS n FROM outbox WHERE event_id IS NOT NULL"
            " GROUP BY event_id HAVING count(*) > 1"
        )
        processed = await conn.fetch(
            "SELECT event_id FROM processed_events WHERE consumer = $1", CONSUMER_NAME
        )
    finally:
        await conn.close()
    return LedgerState(
        balances=balances,
        applied=applied,
        positions={r["partition"]: r["next_offset"] for r in rows if r["consumer"] == CONSUMER_NAME},
        consumers={r["consumer"] for r in rows},
        pending_outbox=int(pending),
        outbox_ids_written_twice={r["event_id"]: r["n"] for r in twice},
        processed={r["event_id"] for r in processed},
    )


# -- the worker process -----------------------------------------------------------------------
class Worker(ServiceProcess):
    def __init__(self, env: dict[str, str], log: Path, port: int) -> None:
        super().__init__(["python", "-m", "tests.runtime.ledger_service", "worker"], env, log)
        self.port = port

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    async def wait_exit(self, timeout: float) -> int:
        assert self.proc is not None
        try:
            return await asyncio.to_thread(self.proc.wait, timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"worker still running after {timeout}s:\n{self.output()[-3000:]}") from None

    async def stop_gracefully(self, timeout: float = 30) -> int:
        return await asyncio.to_thread(self.stop, timeout=timeout)

    async def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.port}/metrics"
        await asyncio.to_thread(wait_for_status, url, 200, 60, self)
        async with httpx.AsyncClient(timeout=5) as client:
            return (await client.get(url)).text

    async def settled_metric(self, name: str, expected: float, timeout: float = 5, **labels: str) -> float:
        """The value of a counter once it reached ``expected`` (counted just after a commit), or the
        last value seen within ``timeout``: a counter above ``expected`` is returned at once."""
        deadline = time.monotonic() + timeout
        while True:
            value = metric_total(await self.metrics(), name, **labels)
            if value >= expected or time.monotonic() > deadline:
                return value
            await asyncio.sleep(0.1)


def metric_total(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels`` (0 when there are none)."""
    total = 0.0
    for match in re.finditer(rf"^{re.escape(name)}(?:\{{(.*?)\}})? (\S+)$", text, re.MULTILINE):
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(1) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(2))
    return total


@dataclass
class Ledger:
    """One ledger deployment under test: its database, its topic prefix, its worker processes."""

    bootstrap: str
    prefix: str
    database_url: str
    group: str
    logs: Path
    workers: list[Worker] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
            "DATABASE_URL": self.database_url,
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "KAFKA_TOPIC_PREFIX": self.prefix,
            "KAFKA_CONSUMER_GROUP": self.group,
            "HTTP_PORT": str(free_port()),
            "CONSUMER_BATCH_MAX": str(CONSUMER_BATCH_MAX),
            "OUTBOX_BATCH_SIZE": str(OUTBOX_BATCH_SIZE),
            **extra,
        }

    def settings(self) -> LedgerSettings:
        """The ledger's settings for a runner in the test's own process (a worker gets ``env``)."""
        return LedgerSettings(
            database_url=self.database_url,
            kafka_bootstrap_servers=self.bootstrap,
            kafka_topic_prefix=self.prefix,
            kafka_consumer_group=self.group,
        )

    def migrate(self) -> None:
        """What ``python -m tests.runtime.ledger_service migrate`` does, in this process (as the
        services' harnesses migrate): the command's start-up took about 1.5 s per test."""
        SERVICE.migrate(self.settings())

    def start_worker(
        self,
        *,
        crash_at: str | None = None,
        delay_at: str | None = None,
        group: str | None = None,
        **env: str,
    ) -> Worker:
        """Start ``python -m tests.runtime.ledger_service worker`` (with a crash or delay point if
        given); ``env`` overrides settings."""
        port = free_port()
        extra = {"WORKER_PORT": str(port), **env}
        if group is not None:
            extra["KAFKA_CONSUMER_GROUP"] = group
        # Crash and delay points are never inherited from the test's own environment.
        extra["COLLECTIONS_CRASH_AT"] = crash_at or ""
        extra["COLLECTIONS_DELAY_AT"] = delay_at or ""
        worker = Worker(self.env(**extra), self.logs / f"worker-{len(self.workers) + 1}.log", port)
        worker.start()
        self.workers.append(worker)
        return worker

    def kill_all(self) -> None:
        for worker in self.workers:
            worker.kill()

    async def state(self) -> LedgerState:
        return await read_state(self.database_url)

    async def unpublished(self) -> set[str]:
        """The event ids of the outbox rows not marked published."""
        conn = await asyncpg.connect(_dsn(self.database_url), timeout=5)
        try:
            rows = await conn.fetch("SELECT event_id FROM outbox WHERE published_at IS NULL")
        finally:
            await conn.close()
        return {row["event_id"] for row in rows}

    async def wait_until(
        self,
        done: str,
        check: Callable[[LedgerState], bool],
        *,
        worker: Worker | None,
        timeout: float = 90,
        interval: float = 0.25,
    ) -> LedgerState:
        """Poll the database every ``interval`` seconds until ``check(state)`` holds; fail early
        if ``worker`` died."""
        deadline = time.monotonic() + timeout
        last: LedgerState | str = "no answer"
        while time.monotonic() < deadline:
            if worker is not None and not worker.alive:
                tail = worker.output()[-3000:]
                raise AssertionError(f"worker exited {worker.returncode} while waiting until {done}:\n{tail}")
            try:
                last = await self.state()
            except (OSError, asyncpg.PostgresError) as exc:
                last = repr(exc)
            else:
                if check(last):
                    return last
            await asyncio.sleep(interval)
        summary = last if isinstance(last, str) else _summary(last)
        raise AssertionError(f"not {done} within {timeout}s; last state: {summary}")

    @contextlib.asynccontextmanager
    async def outbox_lanes_held(self, hold: bool = True) -> AsyncIterator[None]:
        """Hold every outbox lane's advisory lock (as another relay would): no relay of the ledger
        publishes until the block ends. Does nothing when ``hold`` is false."""
        if not hold:
            yield
            return
        conn = await asyncpg.connect(_dsn(self.database_url), timeout=5)
        try:
            for lane in range(LANES):
                locked = await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", _LOCK_NAMESPACE, lane)
                assert locked, f"outbox lane {lane} is held already"
            yield
        finally:
            await conn.close()  # session advisory locks end with the connection

    @contextlib.asynccontextmanager
    async def positions_locked(self) -> AsyncIterator[None]:
        """Hold an exclusive lock on ``consumer_positions``: reading the stored positions blocks."""
        conn = await asyncpg.connect(_dsn(self.database_url), timeout=5)
        try:
            async with conn.transaction():
                await conn.execute("LOCK TABLE consumer_positions IN ACCESS EXCLUSIVE MODE")
                yield
        finally:
            await conn.close()

    async def wait_for_lock_waiter(self, *, worker: Worker, timeout: float) -> None:
        """Until a session of the worker waits for a lock on ``consumer_positions``."""
        deadline = time.monotonic() + timeout
        conn = await asyncpg.connect(_dsn(self.database_url), timeout=5)
        try:
            while time.monotonic() < deadline:
                assert worker.alive, worker.output()[-3000:]
                waiting = await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND query LIKE '%consumer_positions%' AND pid <> pg_backend_pid()"
                )
                if waiting:
                    return
                await asyncio.sleep(0.1)
        finally:
            await conn.close()
        raise AssertionError(f"the worker did not read its positions within {timeout}s")

    async def wait_until_drained(self, *, worker: Worker | None, timeout: float = 90) -> LedgerState:
        """Until every record of the input topic is consumed and every outbox row is published."""
        ends = {p: o for p, o in (await end_offsets(self.bootstrap, f"{self.prefix}{INPUT}")).items() if o}

        def drained(state: LedgerState) -> bool:
            return state.pending_outbox == 0 and all(state.positions.get(p) == o for p, o in ends.items())

        return await self.wait_until("drained", drained, worker=worker, timeout=timeout)


def _summary(state: LedgerState) -> str:
    return f"applied={len(state.applied)} positions={state.positions} pending_outbox={state.pending_outbox}"


async def group_offsets(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """``group``'s committed offsets in Kafka, per partition of ``topic`` (those it committed)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in committed.items() if tp.topic == topic}


async def commit_group_offsets(bootstrap: str, group: str, topic: str, offsets: dict[int, int]) -> None:
    """Set ``group``'s committed offsets in Kafka (as ``kafka-consumer-groups --reset-offsets`` does)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = {TopicPartition(topic, p): o for p, o in offsets.items()}
        consumer.assign(list(partitions))
        await consumer.commit(partitions)
    finally:
        await consumer.stop()

"""Benchmark: from a curing payment on ``corebank.payments.v1`` to the cancellation committed.

Default (``--mode payments``), the whole path with real processes: one ``aging-service worker``
and one ``contact-service worker`` (sender off, so nothing is sent meanwhile) on their own
databases, over one broker. Set-up, published as core banking publishes (each close once its
day's events are acknowledged): ``--debtors`` accounts opened (the script waits for the contact
worker to apply them), a statement each due the next day, and the closes of both days, so aging
moves every account to M1 and the contact worker lays out each debtor's M1 plan; the script
waits for all of it, then analyzes both databases (what autovacuum does on a running system; a
set-up that grows the tables within minutes leaves statistics behind, and the planner then scans
every pending contact to cancel a batch's). Then, at ``--rate`` events a second, one
``payment.posted`` per account covering what is past due, as core banking publishes a payment;
aging cures the account (``collections.stage.changed`` to CURRENT in its outbox), its outbox relay
publishes it, the contact worker cancels the debtor's pending work. ``--warm-up`` debtors are
paid first, unmeasured, so that the workers, PostgreSQL and the broker have run the path
before (a running system has); then ``--debtors`` are measured.
Per debtor, the script measures from the payment's acknowledgement by the broker (the event
is on the topic; from its send too) to the commit of the contact transaction that cancelled the
debtor's work, which PostgreSQL records (``COMMITTED``: the commit time of the debtor's row in
``cures``, written by the same statement as the cancellation). The split along the path comes from
committed rows: aging's outbox row of the stage change (``created_at``: the start of aging's
transaction; ``published_at``: when its relay had Kafka's acknowledgement) and the contact case's
``updated_at`` (the start of the contact transaction). Afterwards every debtor's plan must be
cancelled as ``cured``. CPU is reported for the workers, PostgreSQL, the broker and the script,
with how busy the whole machine was; with ``--statements``, the statements PostgreSQL ran on the
contact and aging databases in the measured seconds (``pg_stat_statements``, loaded for the run).
PostgreSQL's WAL is a running server's (segments recycled, ``benchmarks._infra.recycle_wal``); the
script prints how much WAL the measured seconds wrote and how many segments they created (0 when
every one was recycled). ``--fresh-wal`` leaves the new cluster's WAL as it is. The broker's log
is in memory (``benchmarks._infra.benchmark_stack``); ``--broker-on-disk`` puts it beside
PostgreSQL's data. Before the measured seconds the set-up's writes still in the page cache are
written to disk (``benchmarks._infra.write_back_now``), as on a server whose set-up is long past;
the script prints what the disks wrote in each measured second. ``--keep-set-up-writes`` leaves
them to the kernel, which writes them back 30 s after they were made: in most runs within the
measured seconds.

``--mode stage-changes`` isolates the contact worker: the debtors are opened and moved to M1
through its handlers in process, and the script publishes the cures itself, as aging does
(one ``collections.stage.changed`` to CURRENT per debtor), measured from each send to the
commit of its cancellation.

Target: p99 under 250 ms at 1,000 events/s.

    .venv/bin/python -m benchmarks.contact_cancellation [--mode payments|stage-changes]
        [--debtors 5000] [--warm-up 5000] [--rate 1000] [--profile worker.svg] [--statements]
        [--fresh-wal] [--broker-on-disk] [--keep-set-up-writes]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from confluent_kafka import KafkaError, Producer
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import create_async_engine

from benchmarks._infra import (
    DiskWrites,
    aging_worker,
    benchmark_stack,
    commits,
    connect,
    cpu_seconds,
    postgres_cpu_seconds,
    restart_postgres_with,
    statements,
    wal_files,
    wal_position,
    write_back_now,
)
from contact_service.bootstrap import SERVICE
from contact_service.settings import ContactSettings
from devstack._process import free_port
from devstack.stack import Stack
from tests.contact_harness import CONTACT, apply, event, opened, stage_changed
from tests.e2e.aging_harness import until
from tests.processes import ServiceProcess, wait_for_status
from tests.service_commands import SERVICE_COMMANDS

WORKER = next(argv for argv in SERVICE_COMMANDS["contact"] if argv[1] == "worker")
PREFIX = "bench."
CONTACT_DB = "contact_cancel_bench"
AGING_DB = "aging_cancel_bench"
STATEMENT_DAY, DUE_DAY, PAY_DAY = "2026-01-01", "2026-01-02", "2026-01-03"
MINIMUM = 20_000


def account(n: int) -> str:
    return f"A{n:06d}"


def customer(n: int) -> str:
    return f"C{n:06d}"


# -- the contact worker ---------------------------------------------------------------------------
def migrate_contact(stack: Stack) -> ContactSettings:
    stack.create_database(CONTACT_DB)
    settings = ContactSettings(database_url=stack.database_url(CONTACT_DB))
    SERVICE.migrate(settings)
    return settings


@contextmanager
def contact_worker(stack: Stack, logs: Path) -> Iterator[ServiceProcess]:
    port = free_port()
    env = {
        **stack.service_env(CONTACT, database=CONTACT_DB, prefix=PREFIX),
        "WORKER_PORT": str(port),
        "HTTP_PORT": str(free_port()),
        "LOG_LEVEL": "WARNING",
        "SENDER_ENABLED": "false",
    }
    worker = ServiceProcess(WORKER, env, logs / "contact-worker.log").start()
    try:
        wait_for_status(f"http://127.0.0.1:{port}/readyz", 200, proc=worker, timeout=120)
        yield worker
    finally:
        if worker.alive:
            worker.stop()


@contextmanager
def profiled(worker: ServiceProcess | None, out: Path | None) -> Iterator[None]:
    """``py-spy record`` of ``worker`` while the block runs: a flame graph at ``out``, or
    collapsed stacks when ``out`` ends in ``.txt``."""
    if out is None or worker is None or worker.proc is None:
        yield
        return
    kind = ["--format", "raw"] if out.suffix == ".txt" else []
    spy = subprocess.Popen(
        [str(Path(sys.executable).parent / "py-spy"), "record", "-o", str(out), "--pid", str(worker.proc.pid)]
        + ["--rate", "50", "--idle", *kind]
    )
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)


# -- what the script publishes --------------------------------------------------------------------
def corebank(type_: str, data: dict[str, Any]) -> dict[str, Any]:
    body = event(type_, data)
    body["source"] = "bench/corebank"
    return body


def statement(n: int) -> dict[str, Any]:
    return corebank(
        "corebank.statement.issued",
        {
            "account_id": account(n),
            "statement_id": f"S{n:06d}",
            "statement_date": STATEMENT_DAY,
            "due_date": DUE_DAY,
            "statement_balance_minor": MINIMUM * 5,
            "minimum_due_minor": MINIMUM,
            "currency": "CNY",
        },
    )


def payment(n: int) -> dict[str, Any]:
    return corebank(
        "corebank.payment.posted",
        {
            "account_id": account(n),
            "payment_id": f"P{n:06d}",
            "amount_minor": MINIMUM,
            "currency": "CNY",
            "value_date": PAY_DAY,
            "channel": "app",
        },
    )


def close(day: str) -> dict[str, Any]:
    return corebank("corebank.business-day.closed", {"business_date": day})


async def send(producer: AIOKafkaProducer, topic: str, body: dict[str, Any], key: str) -> asyncio.Future[Any]:
    """Publish as core banking does: the event stamped when it is created."""
    body["time"] = datetime.now(UTC).isoformat()
    future: asyncio.Future[Any] = await producer.send(
        PREFIX + topic, json.dumps(body).encode(), key=key.encode()
    )
    return future


async def set_up_m1(stack: Stack, debtors: int) -> None:
    """Open every account and wait until the contact worker has applied the openings; then, as
    core banking, issue each account's statement and close both days, and wait until the contact
    worker has laid out every debtor's M1 plan.

    The openings go first so that every run sets up the same way and the openings' own time is
    printed: the close's barrier covers billing and payments only, so aging may apply a close
    before an account's opening and publish its stage change without the debtor (``customer_id``
    null), which the contact worker then keeps until it applies the opening."""
    producer = AIOKafkaProducer(
        bootstrap_servers=stack.bootstrap_servers, enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    conn = await connect(stack, CONTACT_DB)
    try:
        openings = []
        for n in range(debtors):
            body = opened(account(n), customer(n))
            body["source"] = "bench/corebank"
            openings.append(await send(producer, "corebank.accounts.v1", body, account(n)))
        await asyncio.gather(*openings)
        started = time.monotonic()
        await until(lambda: _all_opened(conn, debtors), what=f"{debtors} openings", timeout=900, every=0.5)
        print(f"set-up: the contact worker applied {debtors} openings in {time.monotonic() - started:.1f}s")
        statements = [
            await send(producer, "corebank.billing.v1", statement(n), account(n)) for n in range(debtors)
        ]
        await asyncio.gather(*statements)
        for day in (STATEMENT_DAY, DUE_DAY):
            await (await send(producer, "corebank.calendar.v1", close(day), "calendar"))
        await until(
            lambda: _all_m1(conn, debtors), what=f"{debtors} debtors in M1 with plans", timeout=900, every=0.5
        )
    finally:
        await producer.stop()
        await conn.close()


async def _all_opened(conn: Any, debtors: int) -> bool:
    return bool(await conn.fetchval("SELECT count(*) FROM cases WHERE profile_as_of IS NOT NULL") == debtors)


async def _all_m1(conn: Any, debtors: int) -> bool:
    """Every debtor's M1 plan laid out."""
    planned = await conn.fetchval(
        "SELECT count(DISTINCT customer_id) FROM planned_contacts WHERE status = 'pending' AND stage = 'M1'"
    )
    return bool(planned == debtors)


# -- measuring ------------------------------------------------------------------------------------
class Clock:
    """Wall-clock times (seconds since the epoch) per debtor, so the databases' timestamps compare."""

    def __init__(self) -> None:
        self.sent: dict[str, float] = {}
        self.acked: dict[str, float] = {}
        self.committed: dict[str, float] = {}


COMMITTED = (
    "SELECT customer_id, extract(epoch FROM pg_xact_commit_timestamp(xmin))::float8 AS at"
    " FROM cures WHERE customer_id = ANY(CAST($1 AS varchar[]))"
)
"""Each debtor's cure as recorded by the contact transaction that also cancelled the debtor's
work (``stage_writes``: one statement), with that transaction's commit time: PostgreSQL keeps
it (``track_commit_timestamp``, which the script turns on: a few bytes per transaction) from the
same clock as the script's ``time.time()``. No trigger or notification is added to the path, and
the time taken does not wait for the script to be scheduled on two busy cores. Before
2026-12-02 a trigger notified the script of each cure, timed on arrival (docs/benchmarks.md)."""

POLL_SECONDS = 0.25
"""How often the script counts the cures committed once every payment is acknowledged; only the
last cures still on their way overlap the counting."""


async def until_committed(stack: Stack, clock: Clock, expected: set[str], deadline: float) -> None:
    """Wait until every debtor of ``expected`` has had its cure committed (or ``deadline``, in
    seconds since the epoch, passed), then note each one's commit time in ``clock``."""
    wanted = sorted(expected)
    conn = await connect(stack, CONTACT_DB)
    try:
        while time.time() < deadline:
            count = "SELECT count(*) FROM cures WHERE customer_id = ANY(CAST($1 AS varchar[]))"
            if await conn.fetchval(count, wanted) >= len(wanted):
                break
            await asyncio.sleep(POLL_SECONDS)
        for row in await conn.fetch(COMMITTED, wanted):
            clock.committed.setdefault(row["customer_id"], row["at"])
    finally:
        await conn.close()


BURST_SECONDS = 0.005


async def publish_paced(
    stack: Stack,
    clock: Clock,
    items: list[tuple[str, str, dict[str, Any], str]],
    rate: float,
    linger_ms: int = 5,
) -> None:
    """(debtor, topic, body, key) at ``rate`` a second, each send and acknowledgement noted.

    Core banking's publisher is not part of the system under test, yet here it shares the
    machine's two cores with it, so it is made as light as it can be: librdkafka's producer
    (``confluent_kafka``, in C; idempotent, ``acks=all``, ``linger.ms`` ``linger_ms``),
    whose acknowledgements are noted by a thread of their own as they arrive (``_Acknowledgements``).
    The script wakes when the next item is due and also sends those due within ``BURST_SECONDS``
    after it (5 at 1,000 a second). Each item's latency is still measured from its own send and
    acknowledgement. One producer serves the whole run (``core_banking``), as core banking's
    does: a new one holds what it is given until it has connected and been given its producer
    id, then sends it all at once (measured: the first 300-400 ms of payments, which reached the
    workers as one burst)."""
    producer = core_banking(stack.bootstrap_servers, linger_ms)
    with _Acknowledgements(producer) as acked:
        started = time.monotonic()
        for n, (debtor, topic, body, key) in enumerate(items):
            delay = started + n / rate - time.monotonic()
            if delay > BURST_SECONDS:
                await asyncio.sleep(delay)
            body["time"] = datetime.now(UTC).isoformat()  # stamped when created, as core banking does
            clock.sent[debtor] = time.time()
            producer.produce(
                PREFIX + topic,
                json.dumps(body).encode(),
                key.encode(),
                on_delivery=acked.noting(clock.acked, debtor),
            )
        while await asyncio.to_thread(producer.flush, 1.0):
            pass
    if acked.failed:
        raise RuntimeError(f"{len(acked.failed)} payments not acknowledged: {acked.failed[:3]}")


_PRODUCERS: dict[str, Producer] = {}


def core_banking(bootstrap_servers: str, linger_ms: int) -> Producer:
    """The run's one publisher for core banking (``publish_paced``), connected before first use."""
    if bootstrap_servers not in _PRODUCERS:
        producer = Producer(
            {
                "bootstrap.servers": bootstrap_servers,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": linger_ms,
            }
        )
        producer.list_topics(timeout=30)  # connected, with the cluster's metadata
        _PRODUCERS[bootstrap_servers] = producer
    return _PRODUCERS[bootstrap_servers]


class _Acknowledgements:
    """A thread serving the producer's delivery reports (``Producer.poll``) while the block
    runs, so that each acknowledgement is noted when it arrives, not at the publisher's next
    wake-up."""

    def __init__(self, producer: Producer) -> None:
        self._producer = producer
        self._running = True
        self._thread = threading.Thread(target=self._serve, name="acknowledgements", daemon=True)
        self.failed: list[str] = []

    def _serve(self) -> None:
        while self._running:
            self._producer.poll(0.05)

    def noting(self, times: dict[str, float], debtor: str) -> Any:
        def note(error: KafkaError | None, _message: Any) -> None:
            if error is not None:
                self.failed.append(f"{debtor}: {error}")
            else:
                times.setdefault(debtor, time.time())

        return note

    def __enter__(self) -> _Acknowledgements:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._running = False
        self._thread.join()


async def check_cancelled(stack: Stack, debtors: int) -> None:
    conn = await connect(stack, CONTACT_DB)
    try:
        left = await conn.fetchval("SELECT count(*) FROM planned_contacts WHERE status <> 'cancelled'")
        cured = await conn.fetchval(
            "SELECT count(DISTINCT customer_id) FROM planned_contacts WHERE cancel_reason = 'cured'"
        )
    finally:
        await conn.close()
    assert left == 0 and cured == debtors, f"{left} contacts left pending, {cured} debtors cancelled as cured"


async def split(stack: Stack) -> dict[str, dict[str, float]]:
    """Per debtor, wall-clock seconds: aging's transaction start and its relay's publication of
    the cure, and the start of the contact transaction that applied it."""
    out: dict[str, dict[str, float]] = {}
    conn = await connect(stack, AGING_DB)
    try:
        for r in await conn.fetch(
            "SELECT key, payload, created_at, published_at FROM outbox"
            " WHERE topic = 'collections.delinquency.v1'"
        ):
            if json.loads(r["payload"])["data"]["to_stage"] != "CURRENT":
                continue
            debtor = "C" + bytes(r["key"]).decode()[1:]
            out.setdefault(debtor, {})["aging_started"] = r["created_at"].timestamp()
            if r["published_at"] is not None:
                out[debtor]["published"] = r["published_at"].timestamp()
    finally:
        await conn.close()
    conn = await connect(stack, CONTACT_DB)
    try:
        for r in await conn.fetch("SELECT customer_id, updated_at FROM cases WHERE stage = 'CURRENT'"):
            out.setdefault(r["customer_id"], {})["contact_started"] = r["updated_at"].timestamp()
    finally:
        await conn.close()
    return out


class CpuMeter:
    """CPU seconds the two workers, PostgreSQL, the broker and this script use between ``start``
    and ``stop``, and how busy the whole machine was meanwhile (Linux ``/proc``)."""

    def __init__(self, stack: Stack, workers: dict[str, ServiceProcess]) -> None:
        self._stack = stack
        self._pids = {name: w.proc.pid for name, w in workers.items() if w.proc is not None}
        if stack.broker is not None and stack.broker.pid is not None:
            self._pids["broker"] = stack.broker.pid
        self._pids["this script"] = os.getpid()
        self._before: dict[str, float] = {}
        self._machine_before = (0, 0)
        self.used: dict[str, float] = {}
        self.machine_busy = 0.0

    def _now(self) -> dict[str, float]:
        now = {name: cpu_seconds(pid) for name, pid in self._pids.items()}
        now["postgres"] = postgres_cpu_seconds(self._stack)
        return now

    def start(self) -> None:
        self._before = self._now()
        self._machine_before = machine_ticks()

    def stop(self) -> None:
        self.used = {name: value - self._before[name] for name, value in self._now().items()}
        (busy, total), (busy_before, total_before) = machine_ticks(), self._machine_before
        busy, total = busy - busy_before, total - total_before
        self.machine_busy = busy / total if total else 0.0

    def report(self, events: int, seconds: float, per: str = "payment") -> str:
        parts = [
            f"{name} {cpu:.2f} s ({100 * cpu / seconds:.0f}% of a core,"
            f" {1000 * cpu / events:.2f} ms per {per})"
            for name, cpu in self.used.items()
        ]
        cores = os.cpu_count() or 1
        return ", ".join(parts) + f"; the machine {100 * self.machine_busy:.0f}% busy over {cores} cores"


class AutovacuumWatch:
    """Which tables autovacuum was working on while the block ran: ``pg_stat_activity`` looked
    at every quarter of a second (the statistics count only the runs that finished)."""

    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        self._seen: dict[str, tuple[float, float]] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        conn = await connect(self._stack, "postgres")
        started = time.monotonic()

        async def look() -> None:
            try:
                while True:
                    for row in await conn.fetch(
                        "SELECT datname, query FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
                    ):
                        what = f"{row['datname']}: {row['query'] or 'starting'}"
                        at = time.monotonic() - started
                        first, _ = self._seen.get(what, (at, at))
                        self._seen[what] = (first, at)
                    await asyncio.sleep(0.25)
            finally:
                await conn.close()

        self._task = asyncio.create_task(look())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def report(self) -> str:
        if not self._seen:
            return "autovacuum at work in the measured seconds: none seen"
        return "autovacuum at work in the measured seconds: " + "; ".join(
            f"{what} (seen from {first:.2f} to {last:.2f} s)" for what, (first, last) in self._seen.items()
        )


class BatchMeter:
    """Each consumer's batches between ``start`` and ``stop``: how many, their mean wall time
    and events, from the workers' own ``/metrics`` (``collections_batch_seconds``,
    ``collections_events_handled_total``); and the rows each outbox relay published, with their
    mean time from commit to Kafka's acknowledgement (``collections_outbox_publish_latency_seconds``)."""

    def __init__(self, workers: dict[str, ServiceProcess]) -> None:
        self._urls = {name: f"http://127.0.0.1:{w.env['WORKER_PORT']}/metrics" for name, w in workers.items()}
        self._before: dict[tuple[str, str], float] = {}
        self.used: dict[tuple[str, str], float] = {}

    def _now(self) -> dict[tuple[str, str], float]:
        totals: dict[tuple[str, str], float] = {}
        for name, url in self._urls.items():
            for family in text_string_to_metric_families(httpx.get(url, timeout=5).text):
                for sample in family.samples:
                    consumer = sample.labels.get("consumer", "relay")
                    if sample.name in BATCH_SAMPLES:
                        key = (f"{name} {consumer}", BATCH_SAMPLES[sample.name])
                        totals[key] = totals.get(key, 0.0) + sample.value
        return totals

    def start(self) -> None:
        self._before = self._now()

    def stop(self) -> None:
        self.used = {key: value - self._before.get(key, 0.0) for key, value in self._now().items()}

    def report(self) -> list[str]:
        lines = []
        for consumer in sorted({consumer for consumer, _ in self.used}):
            batches = self.used.get((consumer, "batches"), 0.0)
            seconds = self.used.get((consumer, "seconds"), 0.0)
            if consumer.endswith(" relay"):
                rows = self.used.get((consumer, "rows"), 0.0)
                if rows:
                    mean = 1000 * seconds / rows
                    lines.append(f"  {consumer}: {rows:.0f} rows published, {mean:.1f} ms after commit")
                continue
            if not batches:
                continue
            events = self.used.get((consumer, "events"), 0.0)
            lines.append(
                f"  {consumer}: {batches:.0f} batches, {1000 * seconds / batches:.1f} ms"
                + (f" and {events / batches:.1f} events each" if events else " each")
            )
        return lines


BATCH_SAMPLES = {
    "collections_batch_seconds_count": "batches",
    "collections_batch_seconds_sum": "seconds",
    "collections_events_handled_total": "events",
    "collections_outbox_publish_latency_seconds_count": "rows",
    "collections_outbox_publish_latency_seconds_sum": "seconds",
}


class StatementCounter:
    """The statements PostgreSQL ran on one database between ``start`` and ``stop``
    (``pg_stat_statements``, which ``--statements`` loads), and the transactions committed there;
    every client of the database counts (the workers' pollers too), the script's own reads
    (the set-up's polls, the notifications' listener) do not run meanwhile."""

    def __init__(self, stack: Stack, database: str) -> None:
        self._stack = stack
        self._database = database
        self._commits = 0
        self.counted: list[tuple[str, int, float]] = []
        self.committed = 0

    async def start(self) -> None:
        conn = await connect(self._stack, self._database)
        try:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            await conn.fetchval("SELECT pg_stat_statements_reset()")
            self._commits = await commits(conn)
        finally:
            await conn.close()

    async def stop(self) -> None:
        await asyncio.sleep(1.0)  # each backend reports its transactions at most once a second
        conn = await connect(self._stack, self._database)
        try:
            self.counted = await statements(conn)
            self.committed = await commits(conn) - self._commits - 2  # the script's own two
        finally:
            await conn.close()

    def report(self, events: int, per: str = "payment") -> str:
        calls = sum(n for _, n, _ in self.counted)
        ms = sum(t for *_, t in self.counted)
        lines = [
            f"statements on {self._database}: {calls:,} ({calls / events:.2f} per {per}),"
            f" {ms:,.0f} ms executing ({ms / events:.3f} ms per {per});"
            f" transactions committed: {self.committed:,} ({self.committed / events:.2f} per {per})"
        ]
        lines += [
            f"  {n:>8,} calls {t:>9,.1f} ms ({t / events:.3f} ms per {per})  {query[:140]}"
            for query, n, t in sorted(self.counted, key=lambda c: -c[2])[:15]
        ]
        return "\n".join(lines)


def machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of every core so far, from ``/proc/stat`` (idle and iowait are
    not busy)."""
    ticks = [int(n) for n in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(ticks) - ticks[3] - ticks[4], sum(ticks)


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    if not ordered:
        return "n/a"

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    return f"p50={pct(50):.0f}ms p90={pct(90):.0f}ms p99={pct(99):.0f}ms max={ordered[-1] * 1000:.0f}ms"


def by_second(clock: Clock, debtors: list[str]) -> list[str]:
    """The latencies of the payments sent in each second of the measured window: whether the tail
    is one stall or spread over the run."""
    first = min(clock.sent[d] for d in debtors)
    seconds: dict[int, list[float]] = {}
    for d in debtors:
        seconds.setdefault(int(clock.sent[d] - first), []).append(clock.committed[d] - clock.acked[d])
    return [
        f"  second {n}: {len(values)} payments, {percentiles(values)}"
        for n, values in sorted(seconds.items())
    ]


# -- the two modes --------------------------------------------------------------------------------
async def run_payments(
    stack: Stack, args: argparse.Namespace, worker: ServiceProcess, aging: ServiceProcess
) -> None:
    started = time.monotonic()
    total = args.warm_up + args.debtors
    await set_up_m1(stack, total)
    print(f"set-up: {total} debtors in M1 with their plans in {time.monotonic() - started:.1f}s")
    await analyze(stack, CONTACT_DB, AGING_DB)
    if not args.keep_set_up_writes:
        write_back_now()  # the set-up's writes to disk now, not as a burst in the measured seconds
    if args.warm_up:
        # A new broker's JIT compilers are busy with a new workload (with C2, measured: about
        # half a core in the first round's seconds; devstack's broker now compiles with C1
        # only, see benchmarks/broker_relay.py); a running system's are not.
        warm = Clock()
        await pay(stack, args, range(args.warm_up), warm)
        print(
            f"warm-up: {args.warm_up} cures, payment acknowledged -> cancellation committed:",
            percentiles([warm.committed[d] - warm.acked[d] for d in warm.committed]),
        )
    clock = Clock()
    load_before = os.getloadavg()
    meter = CpuMeter(stack, {"aging worker": aging, "contact worker": worker})
    batches = BatchMeter({"aging": aging, "contact": worker})
    counters = [StatementCounter(stack, db) for db in (CONTACT_DB, AGING_DB)] if args.statements else []
    with profiled(worker, args.profile), profiled(aging, args.profile_aging):
        for counter in counters:
            await counter.start()
        vacuums = await maintenance(stack, CONTACT_DB, AGING_DB)
        wal_before = await wal_state(stack)
        autovacuum = AutovacuumWatch(stack)
        await autovacuum.start()
        batches.start()
        meter.start()
        window = time.time()
        measured = time.monotonic()
        with DiskWrites() as disk:
            await pay(stack, args, range(args.warm_up, total), clock)
        measured = time.monotonic() - measured
        meter.stop()
        batches.stop()
        await autovacuum.stop()
        vacuumed = await maintenance(stack, CONTACT_DB, AGING_DB)
        wal_after = await wal_state(stack)
        for counter in counters:
            await counter.stop()
        print(f"measured from {window:.1f} to {time.time():.1f} (seconds since the epoch)")
        print(
            "autovacuum's runs (vacuum or analyze of a table) in the measured seconds:",
            ", ".join(f"{db} {vacuumed[db] - vacuums[db]}" for db in vacuumed),
        )
        print(autovacuum.report())
        print(
            "written to disk in the measured seconds (MB, second by second):",
            ", ".join(f"{mb:.0f}" for mb in disk.by_second()),
        )
        print(
            f"WAL in the measured seconds: {(wal_after[0] - wal_before[0]) / 2**20:.0f} MB written,"
            f" {wal_after[1] - wal_before[1]} segments created (the others recycled: see recycle_wal)"
        )
    load_after = os.getloadavg()
    await check_cancelled(stack, total)
    parts = await split(stack)
    debtors = sorted(clock.committed)
    print(
        f"measured: cures={len(debtors)} rate={args.rate:.0f}/s "
        f"load average (1/5 min) before {load_before[0]:.2f}/{load_before[1]:.2f}, "
        f"after {load_after[0]:.2f}/{load_after[1]:.2f}"
    )
    print(
        f"CPU from the first payment until every cure was found committed ({measured:.1f} s):",
        meter.report(len(debtors), measured),
    )
    print("batches in the measured seconds (each consumer's, and each outbox relay's publications):")
    print("\n".join(batches.report()))
    for counter in counters:
        print(counter.report(len(debtors)))
    print(
        "payment acknowledged -> cancellation committed:",
        percentiles([clock.committed[d] - clock.acked[d] for d in debtors]),
    )
    print(
        "payment sent -> cancellation committed:        ",
        percentiles([clock.committed[d] - clock.sent[d] for d in debtors]),
    )
    print("payment acknowledged -> cancellation committed, by the second the payment was sent in:")
    print("\n".join(by_second(clock, debtors)))
    have = [
        d for d in debtors if {"aging_started", "published", "contact_started"} <= parts.get(d, {}).keys()
    ]
    print(f"split over {len(have)} debtors (wall clock, one machine):")
    print(
        "  payment acknowledged -> aging transaction started:",
        percentiles([parts[d]["aging_started"] - clock.acked[d] for d in have]),
    )
    print(
        "  aging transaction started -> relay published:      ",
        percentiles([parts[d]["published"] - parts[d]["aging_started"] for d in have]),
    )
    print(
        "  payment acknowledged -> stage change published:    ",
        percentiles([parts[d]["published"] - clock.acked[d] for d in have]),
    )
    print(
        "  stage change published -> contact transaction start:",
        percentiles([parts[d]["contact_started"] - parts[d]["published"] for d in have]),
    )
    print(
        "  contact transaction start -> committed:            ",
        percentiles([clock.committed[d] - parts[d]["contact_started"] for d in have]),
    )
    print(
        "  stage change published -> committed:               ",
        percentiles([clock.committed[d] - parts[d]["published"] for d in have]),
    )


async def wal_state(stack: Stack) -> tuple[int, int]:
    """The WAL's write position (bytes) and how many segment files PostgreSQL has."""
    conn = await connect(stack, "postgres")
    try:
        return await wal_position(conn), await wal_files(conn)
    finally:
        await conn.close()


async def maintenance(stack: Stack, *databases: str) -> dict[str, int]:
    """How many times autovacuum has vacuumed or analyzed a table of each database so far."""
    counts = {}
    for database in databases:
        conn = await connect(stack, database)
        try:
            counts[database] = int(
                await conn.fetchval(
                    "SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0) FROM pg_stat_user_tables"
                )
            )
        finally:
            await conn.close()
    return counts


async def analyze(stack: Stack, *databases: str) -> None:
    for database in databases:
        conn = await connect(stack, database)
        try:
            await conn.execute("ANALYZE")
        finally:
            await conn.close()


async def pay(stack: Stack, args: argparse.Namespace, numbers: range, clock: Clock) -> None:
    """One curing payment for each of ``numbers``' accounts at ``args.rate`` a second; every
    debtor's cure committed."""
    items = [(customer(n), "corebank.payments.v1", payment(n), account(n)) for n in numbers]
    await publish_and_wait(stack, clock, items, args.rate, args.publisher_linger_ms)


async def publish_and_wait(
    stack: Stack,
    clock: Clock,
    items: list[tuple[str, str, dict[str, Any], str]],
    rate: float,
    linger_ms: int = 5,
) -> None:
    """``items`` published at ``rate`` (``publish_paced``); every debtor's cure committed."""
    expected = {debtor for debtor, *_ in items}
    await publish_paced(stack, clock, items, rate, linger_ms)
    await until_committed(stack, clock, expected, time.time() + 300)
    missing = len(expected) - len(clock.committed)
    assert missing == 0, f"{missing} cures never committed"


async def prepare_stage_changes(stack: Stack, debtors: int) -> None:
    settings = ContactSettings(database_url=stack.database_url(CONTACT_DB))
    engine = create_async_engine(settings.database_url)
    entered = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    try:
        for first in range(0, debtors, 250):
            batch = range(first, min(first + 250, debtors))
            await apply(
                engine,
                settings,
                *(opened(account(n), customer(n)) for n in batch),
                *(stage_changed(account(n), customer(n), "M1", time=entered) for n in batch),
            )
    finally:
        await engine.dispose()


async def run_stage_changes(stack: Stack, args: argparse.Namespace, worker: ServiceProcess) -> None:
    # Warm-up: the first debtor's cure, awaited, so the worker owns its partitions and is polling.
    await publish_and_wait(stack, Clock(), [(customer(0), *_cure(0))], args.rate)
    clock = Clock()
    items = [(customer(n), *_cure(n)) for n in range(1, args.debtors)]
    load_before = os.getloadavg()
    meter = CpuMeter(stack, {"contact worker": worker})
    with profiled(worker, args.profile):
        meter.start()
        measured = time.monotonic()
        await publish_and_wait(stack, clock, items, args.rate, args.publisher_linger_ms)
        measured = time.monotonic() - measured
        meter.stop()
    load_after = os.getloadavg()
    await check_cancelled(stack, args.debtors)
    print(
        f"cures={len(clock.committed)} rate={args.rate:.0f}/s "
        f"load average (1/5 min) before {load_before[0]:.2f}/{load_before[1]:.2f}, "
        f"after {load_after[0]:.2f}/{load_after[1]:.2f}"
    )
    print(
        f"CPU from the first cure sent until every cure was found committed ({measured:.1f} s):",
        meter.report(len(clock.committed), measured, per="cure"),
    )
    print(
        "stage change sent -> cancellation committed:",
        percentiles([clock.committed[d] - clock.sent[d] for d in clock.committed]),
    )


def _cure(n: int) -> tuple[str, dict[str, Any], str]:
    body = stage_changed(account(n), customer(n), "CURRENT", from_stage="M1")
    return "collections.delinquency.v1", body, account(n)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=("payments", "stage-changes"), default="payments")
    parser.add_argument("--debtors", type=int, default=5_000)
    parser.add_argument(
        "--warm-up", type=int, default=5_000, help="debtors cured first, at the same rate, unmeasured"
    )
    parser.add_argument("--rate", type=float, default=1_000)
    parser.add_argument(
        "--publisher-linger-ms",
        type=int,
        default=5,
        help="linger.ms of the script's publisher (core banking's): how long it gathers events"
        " into one produce request",
    )
    parser.add_argument("--profile", type=Path, default=None, help="py-spy profile of the contact worker")
    parser.add_argument(
        "--profile-aging", type=Path, default=None, help="py-spy profile of the aging worker (payments mode)"
    )
    parser.add_argument(
        "--statements",
        action="store_true",
        help="load pg_stat_statements and print the contact and aging databases' statements of the"
        " measured seconds (payments mode; PostgreSQL then uses a little more CPU)",
    )
    parser.add_argument(
        "--fresh-wal",
        action="store_true",
        help="leave the new cluster's WAL as it is: a segment is created (16 MB written and synced)"
        " each time the WAL grows into a new one, not recycled as on a server that has been running",
    )
    parser.add_argument(
        "--keep-set-up-writes",
        action="store_true",
        help="leave the set-up's writes in the page cache: the kernel then writes them back 30 s"
        " after they were made, all at once, in most runs within the measured seconds",
    )
    parser.add_argument(
        "--broker-on-disk",
        action="store_true",
        help="keep the broker's log on the disk PostgreSQL uses, not in memory: the kernel's"
        " write-back of it then holds PostgreSQL's WAL sync every few seconds",
    )
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="contact-cancel-bench-"))
    with benchmark_stack(recycled_wal=not args.fresh_wal, broker_in_memory=not args.broker_on_disk) as stack:
        assert stack.broker is not None
        print(f"broker's log in {stack.broker.data_dir}; PostgreSQL's data in {stack.base_dir / 'postgres'}")
        restart_postgres_with(
            stack,
            track_commit_timestamp="on",
            **({"shared_preload_libraries": "pg_stat_statements"} if args.statements else {}),
        )
        stack.apply_topics(prefix=PREFIX)
        migrate_contact(stack)
        if args.mode == "stage-changes":
            asyncio.run(prepare_stage_changes(stack, args.debtors))
            asyncio.run(analyze(stack, CONTACT_DB))
            with contact_worker(stack, logs) as worker:
                asyncio.run(run_stage_changes(stack, args, worker))
            return
        stack.create_database(AGING_DB)
        from aging_service.bootstrap import SERVICE as AGING_SERVICE
        from aging_service.settings import AgingSettings

        AGING_SERVICE.migrate(AgingSettings(database_url=stack.database_url(AGING_DB)))
        with aging_worker(stack, AGING_DB, PREFIX, logs) as aging, contact_worker(stack, logs) as worker:
            asyncio.run(run_payments(stack, args, worker, aging))


if __name__ == "__main__":
    main()

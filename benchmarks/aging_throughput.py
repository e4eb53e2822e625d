"""Benchmark (a): events/s through Kafka -> aging (PostgreSQL) -> outbox -> Kafka, one instance.

A realistic mix over many days: accounts open, statements are issued, most pay on time, some
pay late or in part, some payments are reversed, and the days close, so stages really change.
The expected stage changes are computed by the pure domain over the same events (as published:
each close after the day's events). The clock runs from the first event produced to the last
stage change consumed from `collections.delinquency.v1`, and the outputs are counted against the
expected number.

Beside it: a raw aiokafka pass-through (consume the same messages, produce each to a sink topic,
the producer settings of aging's outbox relay: idempotent, acks=all, no linger) on the same
broker, timed over the messages already published (its first poll to its last ack), and the ratio.

Then the catch-up after an outage: the same events, all days with their closes inside, are
published before an aging worker starts on an empty database. Its rate, from the start of the
worker's consumers (before their group join; ``collections_consumer_started_timestamp_seconds``)
to the last stage change read back from `collections.delinquency.v1`, is printed beside the same
pass-through over that backlog timed the same way: from just before its consumer starts to the
last message read back from its sink (target: at least 0.5 of it). The figures printed before
2026-12-02 follow: the catch-up from the worker's launch and from its readiness, against the
pass-through from the acks of its first poll to the acks of its last. Then the worker's CPU, and
its minor page faults and system CPU (each fault a page of memory touched for the first time,
which costs more on some machines than on others), from ready and from its launch, and its peak
resident memory.

    .venv/bin/python -m benchmarks.aging_throughput [--accounts 4000 --days 60] [--workload simulator]
        [--catch-up-only] [--profile catch-up.svg] [--broker-on-disk]

``--catch-up-only`` skips the live run; ``--profile FILE`` samples the catch-up worker with py-spy
(``pip install py-spy`` in the .venv) into a flame graph. The broker's log is in memory and
PostgreSQL's WAL recycled (``benchmarks._infra.benchmark_stack``); ``--broker-on-disk`` puts the
log beside PostgreSQL's data, as before 2026-12-02.

``--workload simulator`` publishes the core-banking simulator's portfolio instead (its payer
behaviours, its holders, a close every calendar day): the same events `make run` shows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

if not __package__:  # run as a file (python benchmarks/x.py): make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._infra import (
    aging_worker,
    benchmark_stack,
    connect,
    cpu_seconds,
    durability_settings,
    page_faults,
    peak_resident_mb,
    until,
)
from devstack.stack import Stack
from tests.processes import ServiceProcess

START = date(2026, 1, 1)
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def workload(accounts: int, days: int, seed: int = 7) -> list[tuple[str, dict[str, Any]]]:
    """(topic, event) in publish order: each day's billing and payments, then its close."""
    rng = random.Random(seed)
    out: list[tuple[str, dict[str, Any]]] = []
    serial = 0

    def event(type_: str, subject: str, data: dict[str, Any]) -> dict[str, Any]:
        nonlocal serial
        serial += 1
        return {
            "specversion": "1.0",
            "id": f"b-{serial}",
            "source": "bench/corebank",
            "type": type_,
            # core banking stamps each event when it creates it, in publish order (the close
            # barrier orders records of the close's own millisecond by it)
            "time": (EPOCH + timedelta(microseconds=serial)).isoformat().replace("+00:00", "Z"),
            "subject": subject,
            "datacontenttype": "application/json",
            "data": data,
        }

    cycle = {i: rng.randrange(28) for i in range(accounts)}
    habits = {
        i: rng.choices(["ontime", "late", "partial", "never"], [70, 15, 10, 5])[0] for i in range(accounts)
    }
    for i in range(accounts):
        out.append(
            (
                "corebank.accounts.v1",
                event(
                    "corebank.account.opened",
                    f"A{i}",
                    {
                        "account_id": f"A{i}",
                        "customer_id": f"C{i}",
                        "currency": "CNY",
                        "credit_limit_minor": 5_000_000,
                        "opened_on": "2025-06-01",
                        "holder": {"name": f"Holder {i}"},
                        "consents": {"sms": True},
                    },
                ),
            )
        )
    scheduled: dict[date, list[tuple[str, dict[str, Any]]]] = {}
    for day in range(days):
        today = START + timedelta(days=day)
        for i in range(accounts):
            if cycle[i] != today.day % 28:
                continue
            account, statement = f"A{i}", f"S{today:%Y%m%d}"
            minimum = rng.randrange(5_000, 50_000)
            due = today + timedelta(days=20)
            out.append(
                (
                    "corebank.billing.v1",
                    event(
                        "corebank.statement.issued",
                        account,
                        {
                            "account_id": account,
                            "statement_id": statement,
                            "statement_date": today.isoformat(),
                            "due_date": due.isoformat(),
                            "statement_balance_minor": minimum * 5,
                            "minimum_due_minor": minimum,
                            "currency": "CNY",
                        },
                    ),
                )
            )
            habit = habits[i]
            if habit == "never":
                continue
            pay_on = (
                due - timedelta(days=rng.randrange(5))
                if habit != "late"
                else due + timedelta(days=rng.randrange(3, 45))
            )
            amount = minimum if habit != "partial" else minimum // 2
            payment = {
                "account_id": account,
                "payment_id": f"P{statement}",
                "amount_minor": amount,
                "currency": "CNY",
                "value_date": pay_on.isoformat(),
                "channel": "app",
            }
            scheduled.setdefault(pay_on, []).append(
                ("corebank.payments.v1", event("corebank.payment.posted", account, payment))
            )
            if rng.random() < 0.03:
                scheduled.setdefault(pay_on + timedelta(days=2), []).append(
                    (
                        "corebank.payments.v1",
                        event(
                            "corebank.payment.reversed",
                            account,
                            {"account_id": account, "payment_id": f"P{statement}", "reason": "returned"},
                        ),
                    )
                )
        out.extend(scheduled.pop(today, []))
        out.append(
            (
                "corebank.calendar.v1",
                event("corebank.business-day.closed", "calendar", {"business_date": today.isoformat()}),
            )
        )
    return out


def simulator_workload(accounts: int, days: int, seed: int = 7) -> list[tuple[str, dict[str, Any]]]:
    """(topic, event) in publish order from the core-banking simulator: each day's events, then
    its close (a close every calendar day, as the benchmark's own workload has)."""
    from collections_common.events import encode
    from corebank_simulator.generator import SimulationOptions, simulate

    out: list[tuple[str, dict[str, Any]]] = []
    for day in simulate(SimulationOptions(accounts, days, start=START, seed=seed, calendar="daily")):
        for outgoing in (*day.events, day.close):
            out.append((outgoing.topic, json.loads(encode(outgoing.event))))
    return out


WORKLOADS = {"benchmark": workload, "simulator": simulator_workload}


def expected_changes(events: list[tuple[str, dict[str, Any]]]) -> int:
    """Stage changes the pure domain emits for these events applied in publish order."""
    from aging_service.domain.policy import AgingPolicy
    from tests.pure_driver import PureDriver

    driver = PureDriver(AgingPolicy())
    for _, event in events:
        driver.deliver(event)
    return len(driver.changes)


Record = tuple[str, bytes, bytes, str | None]
"""(topic, key, value, the business date if the event is a close): encoded before the clock."""


def records(events: list[tuple[str, dict[str, Any]]]) -> list[Record]:
    return [
        (
            topic,
            (e["data"].get("account_id") or "calendar").encode(),
            json.dumps(e).encode(),
            e["data"]["business_date"] if e["type"] == "corebank.business-day.closed" else None,
        )
        for topic, e in events
    ]


async def produce(stack: Stack, prefix: str, events: list[Record], noted: Any = None) -> None:
    """Publish ``events`` in order; each close once its day's events are acknowledged, and, with
    ``noted``, the next day once ``noted(close)`` returns (the live pacing)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=stack.bootstrap_servers, enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    try:
        pending = []
        for topic, key, value, closed in events:
            if closed is None:
                pending.append(await producer.send(prefix + topic, value, key=key))
                continue
            # As core banking: the close only once every event of its day is acknowledged (sent
            # with them, the broker may append it before some of them, which then count after it).
            await asyncio.gather(*pending)
            pending.clear()
            await (await producer.send(prefix + topic, value, key=key))
            if noted is not None:
                await noted(closed)  # the next day starts after the close is read
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def count_outputs(
    stack: Stack, topic: str, expected: int, timeout: float = 900, ready: asyncio.Event | None = None
) -> float:
    """``time.perf_counter()`` when ``expected`` records have been read from ``topic`` (from its
    start). Sets ``ready`` once the counting consumer has its partitions."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=stack.bootstrap_servers,
        auto_offset_reset="earliest",
        group_id=f"bench-{time.time()}",
    )
    await consumer.start()
    if ready is not None:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=10)  # joins the group; nothing is there to read yet
        ready.set()
    seen, deadline = 0, time.monotonic() + timeout
    try:
        while seen < expected and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500, max_records=5000)).values():
                seen += len(records)
        if seen < expected:
            raise TimeoutError(f"only {seen} of {expected} stage changes")
        return time.perf_counter()
    finally:
        await consumer.stop()


async def relay(
    stack: Stack,
    prefix: str,
    topics: list[str],
    forwarded: Any,
    ready: asyncio.Event | None = None,
    starting: Any = None,
) -> None:
    """The raw pass-through: consume ``topics``, produce each record to a sink topic (the
    producer settings of aging's outbox relay), await the acks of each poll, commit; report every
    record forwarded to ``forwarded``. Calls ``starting()`` just before its consumer starts (and
    joins its group); sets ``ready`` once it has its partitions. Runs until cancelled."""
    consumer = AIOKafkaConsumer(
        *[prefix + t for t in topics],
        bootstrap_servers=stack.bootstrap_servers,
        auto_offset_reset="earliest",
        group_id=f"pass-{time.time()}",
        enable_auto_commit=False,
        max_poll_records=500,
    )
    producer = AIOKafkaProducer(  # as aging's outbox relay's (collections_common.runtime.kafka)
        bootstrap_servers=stack.bootstrap_servers, enable_idempotence=True, linger_ms=0
    )
    if starting is not None:
        starting()
    await consumer.start()
    await producer.start()
    try:
        while not consumer.assignment():
            await asyncio.sleep(0.05)
        if ready is not None:
            ready.set()
        while True:
            batch = await consumer.getmany(timeout_ms=1000)
            records = [r for rs in batch.values() for r in rs]
            futures = [await producer.send(prefix + SINK, r.value, key=r.key) for r in records]
            await asyncio.gather(*futures)
            if batch:
                await consumer.commit({tp: rs[-1].offset + 1 for tp, rs in batch.items()})
            forwarded(records)
    finally:
        await producer.stop()
        await consumer.stop()


SINK = "collections.agency.v1"
"""The pass-through's output topic (any topic of the manifest no service here reads)."""

INPUTS = ["corebank.accounts.v1", "corebank.billing.v1", "corebank.payments.v1", "corebank.calendar.v1"]


async def passthrough_published(stack: Stack, prefix: str, total: int) -> float:
    """Seconds for the relay to move ``total`` messages already published on ``prefix``'s topics,
    from the acks of its first poll with records to the acks of the last (the live run's
    figure; the catch-up's is :func:`passthrough_catch_up`)."""
    return (await passthrough_catch_up(stack, prefix, total))[0]


async def passthrough_catch_up(stack: Stack, prefix: str, total: int) -> tuple[float, float]:
    """The relay moving ``total`` messages already published on ``prefix``'s topics, timed two
    ways, in seconds: from the acks of its first poll with records to the acks of the last (the
    figure printed before 2026-12-02), and as the catch-up's worker is timed, from just before its
    consumer starts (its group join included) to the last message read from the sink topic by a
    counting consumer that had its partitions before the relay started."""
    moved, first_acked, done = 0, 0.0, asyncio.Event()
    started = 0.0

    def starting() -> None:
        nonlocal started
        started = time.perf_counter()

    def forwarded(records: list[Any]) -> None:
        nonlocal moved, first_acked
        if records and not first_acked:
            first_acked = time.perf_counter()
        moved += len(records)
        if moved >= total:
            done.set()

    counting_ready = asyncio.Event()
    counting = asyncio.create_task(count_outputs(stack, prefix + SINK, total, ready=counting_ready))
    await asyncio.wait_for(counting_ready.wait(), timeout=60)
    relaying = asyncio.create_task(relay(stack, prefix, INPUTS, forwarded, starting=starting))
    try:
        await asyncio.wait_for(done.wait(), timeout=600)
        last_acked = time.perf_counter()
        last_seen = await asyncio.wait_for(counting, timeout=60)
        return last_acked - first_acked, last_seen - started
    finally:
        relaying.cancel()
        counting.cancel()
        await asyncio.gather(relaying, counting, return_exceptions=True)


async def run(
    accounts: int,
    days: int,
    kind: str = "benchmark",
    *,
    live: bool = True,
    profile: Path | None = None,
    broker_on_disk: bool = False,
) -> None:
    events = WORKLOADS[kind](accounts, days)
    expected = expected_changes(events)
    if expected == 0:
        raise SystemExit("this workload changes no stage (the clock would stop at once): use more days")
    mix: dict[str, int] = {}
    for _, e in events:
        mix[e["type"]] = mix.get(e["type"], 0) + 1
    print(f"workload ({kind}): {len(events):,} events over {days} days, {accounts:,} accounts; mix {mix}")
    print(f"expected stage changes: {expected:,}")
    logs = Path(tempfile.mkdtemp(prefix="bench-logs-"))
    with benchmark_stack(broker_in_memory=not broker_on_disk) as stack:
        database, prefix = "bench_throughput", "bthru."
        stack.apply_topics(prefix=prefix)
        stack.create_database(database)
        from aging_service.bootstrap import SERVICE
        from aging_service.settings import AgingSettings

        SERVICE.migrate(AgingSettings(database_url=stack.database_url(database)))
        conn = await connect(stack, database)

        async def noted(day: str) -> None:
            await until(
                lambda: conn.fetchval(
                    "SELECT 1 FROM business_day_closes WHERE business_date = $1::text::date", day
                ),
                what=f"close {day}",
                every=0.005,
                timeout=600,
            )

        encoded = records(events)
        if not live:
            await conn.close()
            await catch_up(stack, encoded, expected, logs, profile)
            return
        with aging_worker(stack, database, prefix, logs) as worker:
            await asyncio.sleep(8)  # let the consumer group settle before the clock starts
            started = time.perf_counter()
            counting = asyncio.create_task(
                count_outputs(stack, prefix + "collections.delinquency.v1", expected)
            )
            await produce(stack, prefix, encoded, noted)
            produced = time.perf_counter()
            finished = await counting
            metrics = httpx.get(f"http://127.0.0.1:{worker.env['WORKER_PORT']}/metrics").text
        elapsed = finished - started
        rate = len(events) / elapsed
        emitted = await conn.fetchval("SELECT count(*) FROM stage_changes")
        dead = await conn.fetchval("SELECT count(*) FROM outbox WHERE topic LIKE '%.dlq'")
        await conn.close()
        print(
            f"aging: {len(events):,} events in {elapsed:.1f}s = {rate:,.0f} events/s "
            f"(producing took {produced - started:.1f}s); stage changes {emitted:,} (expected {expected:,}), "
            f"dead letters {dead}"
        )
        wanted = (
            "collections_batch_seconds_sum",
            "collections_batch_seconds_count",
            "aging_day_close_seconds_sum",
            "aging_day_close_seconds_count",
            "collections_transient_failures_total",
        )
        for line in metrics.splitlines():
            if line.startswith(wanted):
                print("   worker:", line)
        published = len(events) / await passthrough_published(stack, prefix, len(events))
        print(
            f"pass-through of the messages already published (first poll -> last ack): "
            f"{published:,.0f} messages/s; ratio live aging / pass-through: {rate / published:.2f}"
        )
        await catch_up(stack, encoded, expected, logs, profile)
        print("PostgreSQL durability:", await durability_settings(stack, database))
        print(
            "producers: enable_idempotence=True (acks=all); core banking's linger_ms=5, aging's outbox"
            " relay's and the pass-through's linger_ms=0"
        )


async def catch_up(
    stack: Stack, encoded: list[Record], expected: int, logs: Path, profile: Path | None = None
) -> None:
    """After an outage: the whole backlog (every day, closes inside) is in Kafka before an aging
    worker starts on an empty database. Timed from its consumers' start (and from its launch, and
    its readiness) to the last stage change read back; beside it the plain consume-and-produce
    pass-through of the same backlog on the same broker (see the module's docstring)."""
    database, prefix = "bench_catch_up", "bcatch."
    stack.apply_topics(prefix=prefix)
    stack.create_database(database)
    from aging_service.bootstrap import SERVICE
    from aging_service.settings import AgingSettings

    SERVICE.migrate(AgingSettings(database_url=stack.database_url(database)))
    await produce(stack, prefix, encoded)  # unpaced: the barrier places each close by the log
    # The counting consumer has its partitions before the launch, as the pass-through's has before
    # its relay starts: the first group to join a fresh broker waits for its group coordinator to be
    # created (0.1-0.2 s), which until 2026-12-02 was the worker's and never the pass-through's.
    counting_ready = asyncio.Event()
    counting = asyncio.create_task(
        count_outputs(stack, prefix + "collections.delinquency.v1", expected, ready=counting_ready)
    )
    await asyncio.wait_for(counting_ready.wait(), timeout=60)
    launched = time.perf_counter()
    with aging_worker(stack, database, prefix, logs) as worker:
        ready = time.perf_counter()
        assert worker.proc is not None
        cpu_at_ready = cpu_seconds(worker.proc.pid)
        faults_at_ready, system_cpu_at_ready = page_faults(worker.proc.pid)
        sampling = sample(worker, profile) if profile is not None else None
        finished = await counting
        cpu_in_all = cpu_seconds(worker.proc.pid)
        cpu = cpu_in_all - cpu_at_ready
        faults_in_all, system_cpu_in_all = page_faults(worker.proc.pid)
        peak_mb = peak_resident_mb(worker.proc.pid)
        faults, system_cpu = faults_in_all - faults_at_ready, system_cpu_in_all - system_cpu_at_ready
        finished_unix = time.time() - (time.perf_counter() - finished)
        metrics = httpx.get(f"http://127.0.0.1:{worker.env['WORKER_PORT']}/metrics").text
        if sampling is not None:
            sampling.send_signal(signal.SIGINT)  # py-spy writes the flame graph on SIGINT
            sampling.wait(timeout=60)
    consumers_started = min(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("collections_consumer_started_timestamp_seconds{")
    )
    conn = await connect(stack, database)
    emitted = await conn.fetchval("SELECT count(*) FROM stage_changes")
    commits = await conn.fetchval("SELECT xact_commit FROM pg_stat_database WHERE datname = $1", database)
    await conn.close()
    total = len(encoded)
    from_launch, from_ready = total / (finished - launched), total / (finished - ready)
    from_start = total / (finished_unix - consumers_started)
    acks_seconds, start_seconds = await passthrough_catch_up(stack, prefix, total)
    passthrough_acks, passthrough = total / acks_seconds, total / start_seconds
    print(
        f"catch-up: {total:,} events already in Kafka; {from_start:,.0f} events/s from the worker's"
        f" consumers' start (their group join included) to the last stage change read back;"
        f" stage changes {emitted:,} (expected {expected:,})"
    )
    print(
        f"   {from_launch:,.0f} events/s from the worker's launch ({ready - launched:.1f}s to ready,"
        f" {consumers_started - (time.time() - (time.perf_counter() - launched)):.2f}s to its"
        f" consumers' start), {from_ready:,.0f} events/s from ready (its /readyz, polled every 0.3 s)"
    )
    print(
        f"   worker CPU from ready to the last stage change: {cpu:.2f}s ({cpu_in_all:.2f}s from its launch,"
        f" the interpreter's start included; shared machine: less noisy"
        f" than the rates); transactions committed in its database: {commits:,}"
    )
    print(
        f"   worker's minor page faults from ready: {faults:,} ({faults_in_all:,} from its launch; each"
        f" a page of memory touched for the first time); its system CPU {system_cpu:.2f}s"
        f" ({system_cpu_in_all:.2f}s from its launch); its peak resident memory {peak_mb:.0f} MB"
    )
    print(
        f"pass-through of the same backlog, timed the same way (from its consumer's start, the group"
        f" join included, to the last message read back from the sink): {passthrough:,.0f} messages/s;"
        f" ratio: {from_start / passthrough:.2f} (target >= 0.5)"
    )
    print(
        f"   before 2026-12-02 the ratio was catch-up from ready / pass-through from the acks of its"
        f" first poll to its last ack ({passthrough_acks:,.0f} messages/s):"
        f" {from_ready / passthrough_acks:.2f} (from launch: {from_launch / passthrough_acks:.2f})"
    )


def sample(worker: ServiceProcess, profile: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling ``worker`` (idle time included) into ``profile``: a flame graph, or
    collapsed stacks when the name ends in ``.txt``."""
    assert worker.proc is not None
    spy = Path(sys.executable).parent / "py-spy"
    form = "raw" if profile.suffix == ".txt" else "flamegraph"
    return subprocess.Popen(
        [str(spy), "record", "--idle", "--nonblocking", "--rate", "100", "--format", form]
        + ["-o", str(profile), "--pid", str(worker.proc.pid)],
        stdout=subprocess.DEVNULL,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=4000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="benchmark")
    parser.add_argument("--catch-up-only", action="store_true", help="skip the live (paced) run")
    parser.add_argument("--profile", type=Path, help="py-spy profile of the catch-up worker (.svg or .txt)")
    parser.add_argument(
        "--broker-on-disk",
        action="store_true",
        help="the broker's log beside PostgreSQL's data, not in memory",
    )
    args = parser.parse_args()
    asyncio.run(
        run(
            args.accounts,
            args.days,
            args.workload,
            live=not args.catch_up_only,
            profile=args.profile,
            broker_on_disk=args.broker_on_disk,
        )
    )


if __name__ == "__main__":
    main()

"""Benchmark: from a cure published on ``collections.delinquency.v1`` to the cancellation committed.

``--debtors`` debtors are opened and moved to M1 through the contact worker's own handlers (in
process), so each has its M1 plan pending. One real ``contact-service worker`` process (sender
off, so nothing is sent meanwhile) consumes the topics. The benchmark then publishes, as aging
does when a payment cures an account, one ``collections.stage.changed`` to CURRENT per debtor at
``--rate`` events per second, and polls the database every ``--poll-ms`` for the debtors whose
case is CURRENT (committed in the same transaction as the cancellation of their pending work).
Latency: from the publication of a debtor's cure to the first poll that sees it, so it includes
up to one poll interval and the poll's own query. Afterwards the script checks that every
debtor's plan is cancelled as ``cured``. The contact service cancels on aging's stage change;
the curing payment itself is aging's input (aging's latency is in its own benchmarks).
Target: p99 under 250 ms.

    .venv/bin/python -m benchmarks.contact_cancellation [--debtors 5000] [--rate 1000] [--poll-ms 10]
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
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import create_async_engine

from benchmarks._infra import benchmark_stack, connect
from contact_service.bootstrap import SERVICE
from contact_service.settings import ContactSettings
from devstack._process import free_port
from devstack.stack import Stack
from tests.contact_harness import CONTACT, apply, opened, stage_changed
from tests.processes import ServiceProcess, wait_for_status
from tests.service_commands import SERVICE_COMMANDS

WORKER = next(argv for argv in SERVICE_COMMANDS["contact"] if argv[1] == "worker")
PREFIX = "bench."


async def prepare(stack: Stack, database: str, debtors: int) -> None:
    stack.create_database(database)
    settings = ContactSettings(database_url=stack.database_url(database))
    SERVICE.migrate(settings)
    engine = create_async_engine(settings.database_url)
    entered = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    try:
        for first in range(0, debtors, 250):
            batch = range(first, min(first + 250, debtors))
            await apply(
                engine,
                settings,
                *(opened(f"A{n:06d}", f"C{n:06d}") for n in batch),
                *(stage_changed(f"A{n:06d}", f"C{n:06d}", "M1", time=entered) for n in batch),
            )
    finally:
        await engine.dispose()


async def measure(stack: Stack, database: str, debtors: int, rate: float, poll_ms: int) -> list[float]:
    sent_at: dict[str, float] = {}
    seen_at: dict[str, float] = {}
    conn = await connect(stack, database)
    producer = AIOKafkaProducer(
        bootstrap_servers=stack.bootstrap_servers, enable_idempotence=True, linger_ms=5
    )
    await producer.start()

    # Warm-up: the first debtor's cure, awaited, so the worker owns its partitions and is polling.
    warm = stage_changed("A000000", "C000000", "CURRENT", from_stage="M1")
    await producer.send_and_wait(
        PREFIX + "collections.delinquency.v1", json.dumps(warm).encode(), key=b"A000000"
    )
    while not await conn.fetchval("SELECT count(*) FROM cases WHERE stage = 'CURRENT'"):
        await asyncio.sleep(0.05)

    async def publish() -> None:
        started = time.monotonic()
        for n in range(1, debtors):
            delay = started + n / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            body = stage_changed(f"A{n:06d}", f"C{n:06d}", "CURRENT", from_stage="M1")
            body["time"] = datetime.now(UTC).isoformat()
            sent_at[f"C{n:06d}"] = time.monotonic()
            await producer.send(
                PREFIX + "collections.delinquency.v1", json.dumps(body).encode(), key=f"A{n:06d}".encode()
            )
        await producer.flush()

    async def poll() -> None:
        deadline = time.monotonic() + debtors / rate + 120
        while len(seen_at) < debtors - 1 and time.monotonic() < deadline:
            # The case's stage and the cancellation of its pending work commit together.
            rows = await conn.fetch("SELECT customer_id FROM cases WHERE stage = 'CURRENT'")
            now = time.monotonic()
            for r in rows:
                if r["customer_id"] != "C000000":
                    seen_at.setdefault(r["customer_id"], now)
            await asyncio.sleep(poll_ms / 1000)

    try:
        await asyncio.gather(publish(), poll())
    finally:
        await producer.stop()
        await conn.close()
    missing = debtors - 1 - len(seen_at)
    assert missing == 0, f"{missing} cures never seen applied"
    conn = await connect(stack, database)
    try:
        left = await conn.fetchval("SELECT count(*) FROM planned_contacts WHERE status <> 'cancelled'")
        cured = await conn.fetchval(
            "SELECT count(DISTINCT customer_id) FROM planned_contacts WHERE cancel_reason = 'cured'"
        )
    finally:
        await conn.close()
    assert left == 0 and cured == debtors, f"{left} contacts left pending, {cured} debtors cancelled"
    return sorted(seen_at[c] - sent_at[c] for c in sent_at)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--debtors", type=int, default=5_000)
    parser.add_argument("--rate", type=float, default=1_000)
    parser.add_argument("--poll-ms", type=int, default=10)
    parser.add_argument("--profile", type=Path, default=None, help="py-spy flame graph of the worker (SVG)")
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="contact-cancel-bench-"))
    with benchmark_stack() as stack:
        database = "contact_cancel_bench"
        stack.apply_topics(prefix=PREFIX)
        asyncio.run(prepare(stack, database, args.debtors))
        port = free_port()
        env = {
            **stack.service_env(CONTACT, database=database, prefix=PREFIX),
            "WORKER_PORT": str(port),
            "HTTP_PORT": str(free_port()),
            "LOG_LEVEL": "WARNING",
            "SENDER_ENABLED": "false",
        }
        worker = ServiceProcess(WORKER, env, logs / "worker.log").start()
        try:
            wait_for_status(f"http://127.0.0.1:{port}/readyz", 200, proc=worker, timeout=120)
            load_before = os.getloadavg()[0]
            spy = None
            if args.profile is not None and worker.proc is not None:
                spy = subprocess.Popen(
                    [
                        str(Path(sys.executable).parent / "py-spy"),
                        "record",
                        "-o",
                        str(args.profile),
                        "--pid",
                        str(worker.proc.pid),
                        "--rate",
                        "50",
                        "--idle",
                    ],
                )
            latencies = asyncio.run(measure(stack, database, args.debtors, args.rate, args.poll_ms))
            load_after = os.getloadavg()[0]
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(timeout=60)
        finally:
            worker.stop()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000

    print(
        f"cures={len(latencies)} rate={args.rate:.0f}/s poll={args.poll_ms}ms "
        f"p50={pct(50):.0f}ms p90={pct(90):.0f}ms p99={pct(99):.0f}ms max={latencies[-1] * 1000:.0f}ms "
        f"load average before/after={load_before:.2f}/{load_after:.2f}"
    )


if __name__ == "__main__":
    main()

"""Benchmark (b): a business-day close over 100k and 1M accounts where the same 10k change stage.

Every account has a real due (statement 2026-01-05, due 2026-01-25, minimum 100.00 CNY); all but
10,000 paid it on 2026-01-20. The days are closed through 2026-01-24. A real aging worker is
running when `business-day.closed(2026-01-25)` is published; the figure is the time from that
publish until every partition has applied the close and the 10,000 stage changes (CURRENT -> M1)
are committed with their outbox events. The portfolio is loaded with COPY, not through Kafka.

    .venv/bin/python benchmarks/day_close.py [--sizes 100000 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer

if not __package__:  # run as a file (python benchmarks/x.py): make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._infra import aging_worker, benchmark_stack, connect, durability_settings, until
from devstack.stack import Stack

CHANGING = 10_000
PARTITIONS = 6
DUE = date(2026, 1, 25)


async def load_portfolio(stack: Stack, database: str, size: int) -> None:
    from aging_service.bootstrap import SERVICE
    from aging_service.settings import AgingSettings

    stack.create_database(database)
    SERVICE.migrate(AgingSettings(database_url=stack.database_url(database)))
    conn = await connect(stack, database)
    try:
        changing = set(range(0, size, size // CHANGING))
        await conn.copy_records_to_table(
            "accounts",
            columns=[
                "account_id",
                "partition",
                "customer_id",
                "currency",
                "opened",
                "stage",
                "as_of",
                "next_change_on",
            ],
            records=(
                (
                    f"A{i:07d}",
                    i % PARTITIONS,
                    f"C{i:07d}",
                    "CNY",
                    True,
                    "CURRENT",
                    date(2026, 1, 25),
                    date(2026, 1, 26) if i in changing else None,
                )
                for i in range(size)
            ),
        )
        await conn.copy_records_to_table(
            "statements",
            columns=[
                "account_id",
                "statement_id",
                "statement_date",
                "due_date",
                "minimum_due_minor",
                "statement_balance_minor",
                "event_id",
            ],
            records=(
                (f"A{i:07d}", "S1", date(2026, 1, 5), DUE, 10_000, 50_000, f"s{i}") for i in range(size)
            ),
        )
        await conn.copy_records_to_table(
            "payments",
            columns=["account_id", "payment_id", "value_date", "amount_minor", "event_id"],
            records=(
                (f"A{i:07d}", "P1", date(2026, 1, 20), 10_000, f"p{i}")
                for i in range(size)
                if i not in changing
            ),
        )
        await conn.executemany(
            "INSERT INTO partition_clocks (partition, closed_through) VALUES ($1, $2)",
            [(p, date(2026, 1, 24)) for p in range(PARTITIONS)],
        )
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def close_day(stack: Stack, database: str, prefix: str) -> float:
    conn = await connect(stack, database)
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap_servers, enable_idempotence=True)
    await producer.start()
    try:
        event = {
            "specversion": "1.0",
            "id": "bench-close-2026-01-25",
            "source": "bench",
            "type": "corebank.business-day.closed",
            "time": datetime.now(UTC).isoformat(),
            "subject": "calendar",
            "datacontenttype": "application/json",
            "data": {"business_date": "2026-01-25"},
        }
        started = time.perf_counter()
        await producer.send_and_wait(
            f"{prefix}corebank.calendar.v1", json.dumps(event).encode(), key=b"calendar"
        )

        async def applied() -> bool:
            closed = await conn.fetchval(
                "SELECT count(*) FROM partition_clocks WHERE closed_through = '2026-01-25'"
            )
            return bool(closed == PARTITIONS)

        await until(applied, what="close applied", timeout=600, every=0.01)
        elapsed = time.perf_counter() - started
        changes = await conn.fetchval("SELECT count(*) FROM stage_changes")
        assert changes == CHANGING, f"expected {CHANGING} stage changes, got {changes}"
        return elapsed
    finally:
        await producer.stop()
        await conn.close()


async def run(sizes: list[int]) -> None:
    logs = Path(tempfile.mkdtemp(prefix="bench-logs-"))
    with benchmark_stack() as stack:
        for size in sizes:
            database, prefix = f"bench_close_{size}", f"bclose{size}."
            stack.apply_topics(prefix=prefix)
            started = time.perf_counter()
            await load_portfolio(stack, database, size)
            print(
                f"portfolio of {size:,} accounts loaded in {time.perf_counter() - started:.1f}s", flush=True
            )
            with aging_worker(stack, database, prefix, logs) as worker:
                await asyncio.sleep(10)  # the consumer group settles; the close alone is timed
                elapsed = await close_day(stack, database, prefix)
                metrics = httpx.get(f"http://127.0.0.1:{worker.env['WORKER_PORT']}/metrics").text
                for line in metrics.splitlines():
                    if line.startswith(
                        (
                            "aging_day_close_seconds_sum",
                            "aging_day_close_seconds_count",
                            "aging_day_close_accounts_total",
                        )
                    ):
                        print("  ", line)
            print(
                f"day close over {size:,} accounts, {CHANGING:,} changing stage: {elapsed:.2f}s", flush=True
            )
        print("PostgreSQL durability:", await durability_settings(stack, database))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    asyncio.run(run(parser.parse_args().sizes))


if __name__ == "__main__":
    main()

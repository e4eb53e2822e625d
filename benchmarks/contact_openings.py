"""Benchmark: how fast a real contact worker applies a backlog of account openings.

A bank's initial portfolio load: ``--accounts`` ``account.opened`` events (about one customer in
seven holds two accounts, so some batches open two accounts of one debtor) are published on
``corebank.accounts.v1`` before one real ``contact-service worker`` (sender off) starts on its own
database; the worker then applies the backlog. The script polls the linked accounts every 100 ms
and reports the openings applied per second from the first poll that sees one to the poll that
sees them all (the worker's start-up is left out), the CPU seconds of the worker and of
PostgreSQL over the same span, per opening, and the statements PostgreSQL ran on the contact
database from the worker's start (``pg_stat_statements``, loaded into the stack's PostgreSQL for
this run; every component of the worker counts, the pollers too), per opening, with the most
frequent ones.

    .venv/bin/python -m benchmarks.contact_openings [--accounts 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from aiokafka import AIOKafkaProducer

from benchmarks._infra import (
    benchmark_stack,
    commits,
    connect,
    cpu_seconds,
    load_statement_counter,
    postgres_cpu_seconds,
    statements,
)
from benchmarks.contact_cancellation import (
    CONTACT_DB,
    account,
    contact_worker,
    customer,
    migrate_contact,
    send,
)
from devstack.stack import Stack
from tests.contact_harness import opened

_POLL = "SELECT count(*) FROM case_accounts"


def holder_of(n: int) -> int:
    """The customer of account ``n``: every seventh account is its predecessor's customer's second."""
    return n - 1 if n % 7 == 6 else n


async def publish_openings(stack: Stack, accounts: int) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=stack.bootstrap_servers, enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    try:
        sent = []
        for n in range(accounts):
            body = opened(account(n), customer(holder_of(n)))
            body["source"] = "bench/corebank"
            sent.append(await send(producer, "corebank.accounts.v1", body, account(n)))
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def measure(stack: Stack, accounts: int, logs: Path) -> None:
    conn = await connect(stack, CONTACT_DB)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        await conn.execute("ANALYZE")
        await conn.fetchval("SELECT pg_stat_statements_reset()")
        commits_before = await commits(conn)
        load_before = os.getloadavg()
        with contact_worker(stack, logs) as worker:
            assert worker.proc is not None
            pid = worker.proc.pid
            first: tuple[float, int, float, float] | None = None
            polls = 0
            while True:
                count = int(await conn.fetchval(_POLL))
                polls += 1
                now = time.monotonic()
                if first is None and count:
                    first = (now, count, cpu_seconds(pid), postgres_cpu_seconds(stack))
                if count >= accounts:
                    break
                await asyncio.sleep(0.1)
            worker_cpu, postgres_cpu = cpu_seconds(pid), postgres_cpu_seconds(stack)
            counted = await statements(conn, leaving_out=_POLL)
            committed = await commits(conn) - commits_before - polls - 1  # the script's own
        load_after = os.getloadavg()
    finally:
        await conn.close()
    assert first is not None
    started, seen, worker_cpu_first, postgres_cpu_first = first
    span = now - started
    applied = accounts - seen
    total = sum(calls for _, calls, _ in counted)
    print(f"the contact worker applied {accounts} openings, {applied} in {span:.1f} s after the first seen:")
    print(f"  {applied / span:,.0f} openings/s")
    print(
        f"  CPU per opening: worker {(worker_cpu - worker_cpu_first) / applied * 1e3:.2f} ms,"
        f" PostgreSQL {(postgres_cpu - postgres_cpu_first) / applied * 1e3:.2f} ms"
    )
    print(
        f"  statements on the contact database from the worker's start: {total:,}"
        f" ({total / accounts:.2f} per opening); transactions committed: {committed:,}"
    )
    for query, calls, _ in counted[:15]:
        print(f"    {calls:>8,}  {query[:150]}")
    print(f"  load average (1 min) before / after: {load_before[0]:.2f} / {load_after[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=10_000)
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="contact-openings-bench-"))
    with benchmark_stack() as stack:
        load_statement_counter(stack)
        stack.apply_topics(prefix="bench.")
        migrate_contact(stack)
        asyncio.run(publish_openings(stack, args.accounts))
        asyncio.run(measure(stack, args.accounts, logs))


if __name__ == "__main__":
    main()

"""Benchmark: the contact worker's CPU per payment and per cure, at fixed batch sizes, in process.

The cancellation benchmark (``contact_cancellation.py``) runs the real processes, and there the
workers' batch sizes follow the machine's load: under load they take larger batches and spend
less CPU per event, so its CPU figures move with whatever else runs. This one fixes the batch
size. ``--debtors`` debtors are opened and moved to M1 through the worker's batch handler (each
lays out its M1 plan), the contact database is analyzed, then for each size of ``--sizes``
(repeated ``--repeat`` times, alternating) it applies rounds of one batch of ``payment.posted``
(12 partitions, as published) then one batch of the same accounts' cures
(``collections.stage.changed`` to CURRENT) through the consumer runner's transaction
(``ConsumerRunner._apply``: decoding, validation, the claim of the event identities, the batch
handler, the stored positions, the commit), without a broker. It prints, per size, this
process's CPU per payment and per cure and PostgreSQL's per (payment + cure). Afterwards every
cured debtor's plan must be cancelled.

    .venv/bin/python -m benchmarks.contact_batches [--debtors 9000] [--sizes 10,50,200] [--repeat 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from benchmarks._infra import benchmark_stack, connect, postgres_cpu_seconds
from benchmarks.contact_cancellation import CONTACT_DB, account, customer, migrate_contact, payment
from collections_common.runtime import ConsumerRunner
from collections_common.runtime.deliveries import Delivery
from contact_service.handlers import handler_for
from contact_service.settings import ContactSettings
from devstack.stack import Stack
from tests.contact_harness import apply, opened, stage_changed

PARTITIONS = 12
PAYMENTS = "corebank.payments.v1"
DELINQUENCY = "collections.delinquency.v1"


class Records:
    """Deliveries as a consumer hands them over: each partition's in offset order."""

    def __init__(self) -> None:
        self._next: dict[tuple[str, int], int] = {}

    def __call__(self, topic: str, bodies: Sequence[tuple[int, dict[str, Any]]]) -> list[Delivery]:
        found = []
        for n, body in bodies:
            partition = n % PARTITIONS
            offset = self._next.get((topic, partition), 0)
            self._next[(topic, partition)] = offset + 1
            found.append(
                Delivery(
                    topic=topic,
                    partition=partition,
                    offset=offset,
                    key=account(n).encode(),
                    value=json.dumps(body).encode(),
                    timestamp=int(time.time() * 1000),
                    timestamp_type=1,
                )
            )
        return sorted(found, key=lambda d: (d.partition, d.offset))


def cure(n: int) -> dict[str, Any]:
    """Debtor ``n``'s account back to CURRENT, the day after it entered M1 (``set_up``)."""
    return stage_changed(account(n), customer(n), "CURRENT", from_stage="M1", as_of="2026-03-03")


async def set_up(engine: AsyncEngine, settings: ContactSettings, debtors: int) -> None:
    entered = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    for first in range(0, debtors, 250):
        numbers = range(first, min(first + 250, debtors))
        await apply(
            engine,
            settings,
            *(opened(account(n), customer(n)) for n in numbers),
            *(stage_changed(account(n), customer(n), "M1", time=entered) for n in numbers),
        )


async def run(stack: Stack, args: argparse.Namespace) -> None:
    settings = ContactSettings(database_url=stack.database_url(CONTACT_DB))
    engine = create_async_engine(settings.database_url)
    try:
        await set_up(engine, settings, args.debtors)
        conn = await connect(stack, CONTACT_DB)
        try:
            await conn.execute("ANALYZE")
        finally:
            await conn.close()
        runner = ConsumerRunner(
            settings=settings, engine=engine, topics=[PAYMENTS, DELINQUENCY], handler=handler_for(settings)
        )
        records = Records()
        sizes = [int(size) for size in args.sizes.split(",")] * args.repeat
        per_size = args.debtors // len(sizes)
        start = 0
        load_before = os.getloadavg()
        for size in sizes:
            used = {"payment": 0.0, "cure": 0.0}
            end = start + per_size
            postgres_before = postgres_cpu_seconds(stack)
            for first in range(start, end, size):
                numbers = range(first, min(first + size, end))
                cures = [(n, cure(n)) for n in numbers]
                for kind, batch in (
                    ("payment", records(PAYMENTS, [(n, payment(n)) for n in numbers])),
                    ("cure", records(DELINQUENCY, cures)),
                ):
                    cpu = time.process_time()
                    await runner._apply([(batch, None)])
                    used[kind] += time.process_time() - cpu
            postgres = postgres_cpu_seconds(stack) - postgres_before
            count = end - start
            start = end
            print(
                f"batches of {size}: {count} payments and cures; this process"
                f" {used['payment'] / count * 1e3:.3f} ms per payment, {used['cure'] / count * 1e3:.3f} ms"
                f" per cure; PostgreSQL {postgres / count * 1e3:.3f} ms per payment and cure; in all"
                f" {(postgres + used['payment'] + used['cure']) / count * 1e3:.3f} ms"
            )
        load_after = os.getloadavg()
        conn = await connect(stack, CONTACT_DB)
        try:
            left = await conn.fetchval(
                "SELECT count(*) FROM planned_contacts WHERE customer_id < $1 AND status <> 'cancelled'",
                customer(start),
            )
        finally:
            await conn.close()
        assert left == 0, f"{left} contacts of cured debtors not cancelled"
        print(f"load average (1 min) before / after: {load_before[0]:.2f} / {load_after[0]:.2f}")
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--debtors", type=int, default=9_000)
    parser.add_argument("--sizes", default="10,50,200", help="batch sizes, comma-separated")
    parser.add_argument("--repeat", type=int, default=2, help="rounds of every size, alternating")
    args = parser.parse_args()
    with benchmark_stack() as stack:
        migrate_contact(stack)
        asyncio.run(run(stack, args))


if __name__ == "__main__":
    main()

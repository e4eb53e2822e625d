"""Drives a real aging service (worker and API processes) over the real broker and database."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from aging_service.bootstrap import SERVICE
from aging_service.settings import AgingSettings
from collections_common.runtime import partitions_of
from collections_common.settings import ServiceSettings
from devstack._process import free_port
from devstack.stack import SERVICES, Stack
from tests.processes import ServiceProcess, wait_for_status
from tests.runtime.harness import read_all as read_records
from tests.service_commands import SERVICE_COMMANDS

AGING = next(service for service in SERVICES if service.name == "aging")
COMMANDS = {argv[1]: argv for argv in SERVICE_COMMANDS["aging"]}
Headers = list[tuple[str, bytes | None]]
INPUT_TOPICS = ("corebank.accounts.v1", "corebank.billing.v1", "corebank.payments.v1", "corebank.calendar.v1")


@dataclass
class AgingUnderTest:
    """One aging service (API + worker) on its own database and topic namespace."""

    stack: Stack
    namespace: str
    prefix: str
    logs: Path
    config: dict[str, str] = field(default_factory=dict)
    api_port: int = field(default_factory=free_port)
    worker_port: int = field(default_factory=free_port)
    processes: list[ServiceProcess] = field(default_factory=list)

    @property
    def database(self) -> str:
        return f"{self.namespace}_aging"

    @property
    def env(self) -> dict[str, str]:
        return {
            **self.stack.service_env(AGING, database=self.database, prefix=self.prefix),
            "HTTP_PORT": str(self.api_port),
            "WORKER_PORT": str(self.worker_port),
            **self.config,
        }

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start(self, *, api: bool = True) -> AgingUnderTest:
        self.stack.create_database(self.database)
        SERVICE.migrate(AgingSettings(database_url=self.stack.database_url(self.database)))
        worker = ServiceProcess(
            COMMANDS["worker"], self.env, self.logs / f"{self.namespace}-worker.log"
        ).start()
        self.processes.append(worker)
        wait_for_status(f"http://127.0.0.1:{self.worker_port}/readyz", 200, proc=worker)
        if api:
            server = ServiceProcess(
                COMMANDS["api"], self.env, self.logs / f"{self.namespace}-api.log"
            ).start()
            self.processes.append(server)
            wait_for_status(f"{self.api}/readyz", 200, proc=server)
        return self

    def stop(self) -> None:
        for process in self.processes:
            if process.alive:
                process.stop()

    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(
            self.stack.database_url(self.database).replace("postgresql+asyncpg://", "postgresql://")
        )

    async def publish(self, events: list[dict[str, Any]]) -> None:
        """Publish ``{topic, event}`` items in order, each once the one before is acknowledged:
        core banking's pace, which never waits for a consumer (the next business day's events
        follow its close as soon as the broker has acknowledged it). Like core banking, it stamps
        each event's ``time`` as it creates the record."""
        producer = AIOKafkaProducer(bootstrap_servers=self.stack.bootstrap_servers, enable_idempotence=True)
        await producer.start()
        try:
            for item in events:
                event = {**item["event"], "time": datetime.now(UTC).isoformat()}
                key = (
                    "calendar" if item["topic"] == "corebank.calendar.v1" else event["data"].get("account_id")
                )
                await producer.send_and_wait(
                    self.prefix + item["topic"], json.dumps(event).encode(), key=key.encode() if key else None
                )
        finally:
            await producer.stop()

    async def settled(self, timeout: float = 60) -> None:
        """Wait until every input is applied, every close is applied and the outbox is drained."""
        ends = await end_offsets(self.stack, [self.prefix + topic for topic in INPUT_TOPICS])
        conn = await self.connect()
        try:

            async def done() -> bool:
                positions = {
                    (r["topic"], r["partition"]): r["next_offset"]
                    for r in await conn.fetch("SELECT topic, partition, next_offset FROM consumer_positions")
                }
                consumed = all(
                    positions.get((topic.removeprefix(self.prefix), tp), 0) >= end
                    for (topic, tp), end in ends.items()
                )
                latest_close = await conn.fetchval("SELECT max(business_date) FROM business_day_closes")
                behind = await conn.fetchval(
                    "SELECT count(*) FROM partition_clocks WHERE closed_through < $1", latest_close
                )
                clocks = await conn.fetchval("SELECT count(*) FROM partition_clocks")
                unsent = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                closes_applied = latest_close is None or (behind == 0 and clocks == 6)
                return bool(consumed and closes_applied and unsent == 0)

            await until(done, what="aging settled", timeout=timeout)
        finally:
            await conn.close()

    async def read_topic(self, topic: str) -> list[tuple[dict[str, str], bytes]]:
        """Every record of ``topic`` now, as (headers, value), in partition then offset order."""
        return await read_all(self.stack, self.prefix + topic)


async def until(
    check: Callable[[], Awaitable[Any]], *, what: str, timeout: float = 60, every: float = 0.1
) -> None:
    """Poll ``check`` every ``every`` seconds until it is truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(every)
    raise AssertionError(f"timed out waiting for: {what}")


async def end_offsets(stack: Stack, topics: list[str]) -> dict[tuple[str, int], int]:
    settings = ServiceSettings(kafka_bootstrap_servers=stack.bootstrap_servers)
    partitions = [TopicPartition(topic, p) for topic in topics for p in await partitions_of(settings, topic)]
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap_servers)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
        return {(tp.topic, tp.partition): end for tp, end in ends.items()}
    finally:
        await consumer.stop()


async def read_all(stack: Stack, topic: str) -> list[tuple[dict[str, str], bytes]]:
    """Every record of ``topic`` now as (headers, value), in partition then offset order."""
    return [
        ({name: value.decode() for name, value in r.headers}, r.value or b"")
        for r in await read_records(stack.bootstrap_servers, topic)
    ]


async def dead_letters(stack: Stack, topic: str) -> list[tuple[Headers, bytes | None, bytes]]:
    """Every record of ``topic`` now as (headers, key, value), in partition then offset order,
    headers as sent (a name may repeat; a value may be null or any bytes)."""
    return [
        (list(r.headers), r.key, r.value or b"") for r in await read_records(stack.bootstrap_servers, topic)
    ]


def header(headers: Sequence[tuple[str, bytes | None]], name: str) -> str:
    """The text of the first header called ``name``."""
    return next((value or b"").decode() for key, value in headers if key == name)

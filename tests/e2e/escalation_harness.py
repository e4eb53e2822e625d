"""Drives a real escalation worker over the real broker and database, with a recording letter
provider served in this process."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from devstack._process import free_port
from devstack.stack import SERVICES, Stack
from escalation_service.bootstrap import SERVICE
from escalation_service.settings import EscalationSettings
from tests.e2e.aging_harness import read_all, until
from tests.processes import ServiceProcess, wait_for_status
from tests.service_commands import SERVICE_COMMANDS

ESCALATION = next(service for service in SERVICES if service.name == "escalation")
COMMANDS = {argv[1]: argv for argv in SERVICE_COMMANDS["escalation"]}


@dataclass
class EscalationUnderTest:
    stack: Stack
    namespace: str
    prefix: str
    logs: Path
    letter_provider_url: str
    worker_port: int = field(default_factory=free_port)
    processes: list[ServiceProcess] = field(default_factory=list)

    @property
    def database(self) -> str:
        return f"{self.namespace}_escalation"

    @property
    def env(self) -> dict[str, str]:
        return {
            **self.stack.service_env(ESCALATION, database=self.database, prefix=self.prefix),
            "HTTP_PORT": str(free_port()),
            "WORKER_PORT": str(self.worker_port),
            "ENVIRONMENT": "test",
            "KAFKA_CONSUMER_GROUP": f"{self.namespace}-escalation",
            "LETTER_PROVIDER_URL": self.letter_provider_url,
            "LETTER_DISPATCH_INTERVAL_MS": "100",
            "CONSUMER_POLL_TIMEOUT_MS": "100",
        }

    def start(self) -> EscalationUnderTest:
        self.stack.create_database(self.database)
        SERVICE.migrate(EscalationSettings(database_url=self.stack.database_url(self.database)))
        worker = ServiceProcess(
            COMMANDS["worker"], self.env, self.logs / f"{self.namespace}-worker.log"
        ).start()
        self.processes.append(worker)
        wait_for_status(f"http://127.0.0.1:{self.worker_port}/readyz", 200, proc=worker)
        return self

    def stop(self) -> None:
        for process in self.processes:
            if process.alive:
                process.stop()

    async def publish(self, items: list[dict[str, Any]]) -> None:
        """Publishes ``{topic, event}`` items in order, keyed as their producers key them."""
        producer = AIOKafkaProducer(bootstrap_servers=self.stack.bootstrap_servers, enable_idempotence=True)
        await producer.start()
        try:
            for item in items:
                data = item["event"]["data"]
                key = "calendar" if item["topic"] == "corebank.calendar.v1" else data.get("account_id")
                key = key or data.get("agency_id")
                await producer.send_and_wait(
                    self.prefix + item["topic"], json.dumps(item["event"]).encode(), key=key.encode()
                )
        finally:
            await producer.stop()

    async def escalation_events(self) -> list[dict[str, Any]]:
        """Every event on ``collections.escalation.v1`` now."""
        records = await read_all(self.stack, self.prefix + "collections.escalation.v1")
        return [json.loads(value) for _, value in records]

    async def wait_for(self, *types: str, timeout: float = 60) -> list[dict[str, Any]]:
        """Waits until every one of ``types`` is on the topic; returns the topic's events."""
        found: list[dict[str, Any]] = []

        async def present() -> bool:
            nonlocal found
            found = await self.escalation_events()
            return set(types) <= {event["type"] for event in found}

        await until(
            present, what=f"{', '.join(types)} on collections.escalation.v1", timeout=timeout, every=0.3
        )
        return found

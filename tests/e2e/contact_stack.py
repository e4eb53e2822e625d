"""Drives a real contact service (worker and API processes) and the real provider sandbox over
the real broker and database."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer

from contact_service.bootstrap import SERVICE
from contact_service.settings import ContactSettings
from devstack._process import free_port, port_open, stop_process, venv_script, wait_until
from devstack.stack import Stack
from tests.auth_tokens import AUDIENCE, ISSUER, StaffTokens
from tests.contact_harness import COMMANDS, CONTACT, TOPIC_OF
from tests.e2e.aging_harness import read_all, until
from tests.processes import ServiceProcess, wait_for_status

__all__ = ["ContactUnderTest", "Sandbox"]


@dataclass
class Sandbox:
    """The ``provider-sandbox`` process: an HTTP provider and an SMTP sink."""

    logs: Path
    http_port: int = field(default_factory=free_port)
    smtp_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def env(self) -> dict[str, str]:
        """What points the contact service at this sandbox."""
        return {
            "SMS_URL": f"{self.url}/v1/sms",
            "PUSH_URL": f"{self.url}/v1/push",
            "IVR_URL": f"{self.url}/v1/ivr",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.smtp_port),
        }

    def start(self) -> Sandbox:
        self.logs.mkdir(parents=True, exist_ok=True)
        with (self.logs / "provider-sandbox.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    venv_script("provider-sandbox"),
                    *("--http-port", str(self.http_port), "--smtp-port", str(self.smtp_port)),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        for port in (self.http_port, self.smtp_port):
            wait_until(partial(port_open, port), timeout=30, what=f"sandbox on {port}")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=10)

    async def messages(self) -> list[dict[str, Any]]:
        """What was delivered, once per idempotency key."""
        async with httpx.AsyncClient(timeout=10) as client:
            items: list[dict[str, Any]] = (await client.get(f"{self.url}/v1/messages")).json()["items"]
            return items

    async def requests(self) -> list[dict[str, Any]]:
        """Every request received, with ``accepted`` and ``duplicate``."""
        async with httpx.AsyncClient(timeout=10) as client:
            items: list[dict[str, Any]] = (await client.get(f"{self.url}/v1/requests")).json()["items"]
            return items

    async def control(self, **body: Any) -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            (await client.post(f"{self.url}/v1/control", json=body)).raise_for_status()


@dataclass
class ContactUnderTest:
    """One contact service (worker and API) on its own database and topic namespace."""

    stack: Stack
    namespace: str
    prefix: str
    logs: Path
    tokens: StaffTokens
    config: dict[str, str] = field(default_factory=dict)
    api_port: int = field(default_factory=free_port)
    worker_port: int = field(default_factory=free_port)
    processes: list[ServiceProcess] = field(default_factory=list)

    @property
    def database(self) -> str:
        return f"{self.namespace}_contact"

    @property
    def env(self) -> dict[str, str]:
        return {
            **self.stack.service_env(CONTACT, database=self.database, prefix=self.prefix),
            "HTTP_PORT": str(self.api_port),
            "WORKER_PORT": str(self.worker_port),
            "ENVIRONMENT": "test",
            "AUTH_JWKS_URL": str(self.tokens.jwks_path),
            "AUTH_ISSUER": ISSUER,
            "AUTH_AUDIENCE": AUDIENCE,
            **self.config,
        }

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def migrate(self) -> None:
        self.stack.create_database(self.database)
        SERVICE.migrate(ContactSettings(database_url=self.stack.database_url(self.database)))

    def start_worker(self, name: str = "worker", **env: str) -> ServiceProcess:
        """Start one more worker (same consumer group and database); ``env`` overrides settings."""
        port = free_port() if self.processes else self.worker_port
        worker = ServiceProcess(
            COMMANDS["worker"],
            {**self.env, "WORKER_PORT": str(port), **env},
            self.logs / f"{self.namespace}-{name}.log",
        ).start()
        self.processes.append(worker)
        wait_for_status(f"http://127.0.0.1:{port}/readyz", 200, proc=worker)
        return worker

    def start(self, *, api: bool = True) -> ContactUnderTest:
        self.migrate()
        self.start_worker()
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

    def headers(self, *roles: str, subject: str = "alice") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens.token(*roles, subject=subject)}"}

    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(
            self.stack.database_url(self.database).replace("postgresql+asyncpg://", "postgresql://")
        )

    async def fetch(self, sql: str, *args: object) -> list[asyncpg.Record]:
        conn = await self.connect()
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    async def publish(self, *events: dict[str, Any]) -> None:
        """Publish ``events`` in order, each once the broker acknowledged the one before, as their
        producers do: keyed by account (the calendar by ``calendar``), ``time`` stamped at creation
        unless the event carries one. Never waits for the service."""
        producer = AIOKafkaProducer(bootstrap_servers=self.stack.bootstrap_servers, enable_idempotence=True)
        await producer.start()
        try:
            for body in events:
                stamped = {"time": datetime.now(UTC).isoformat(), **body}
                topic = TOPIC_OF[body["type"]]
                key = "calendar" if topic == "corebank.calendar.v1" else body["data"]["account_id"]
                await producer.send_and_wait(
                    self.prefix + topic, json.dumps(stamped).encode(), key=key.encode()
                )
        finally:
            await producer.stop()

    async def applied(self, *events: dict[str, Any], timeout: float = 30) -> None:
        """Wait until the worker has applied ``events`` (their ids are recorded as processed)."""
        ids = [body["id"] for body in events]

        async def done() -> bool:
            found = await self.fetch(
                "SELECT count(*) AS n FROM processed_events WHERE event_id = ANY($1::text[])", ids
            )
            return bool(found[0]["n"] == len(ids))

        await until(done, what=f"{len(ids)} events applied", timeout=timeout)

    async def read_topic(self, topic: str) -> list[tuple[dict[str, str], bytes]]:
        return await read_all(self.stack, self.prefix + topic)

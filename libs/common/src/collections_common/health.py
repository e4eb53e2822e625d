"""Readiness probes: a service is ready when its database and the Kafka broker answer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

PROBE_TIMEOUT_S = 3.0


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProbeResult:
    name: str
    ok: bool = True
    detail: str = "ok"


async def probe_database(engine: AsyncEngine) -> ProbeResult:
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        log.warning("readiness: database unavailable: %s", type(exc).__name__)
        return ProbeResult("database", ok=False, detail="unavailable")
    return ProbeResult("database")


class KafkaProbe:
    """Asks the broker for cluster metadata, reusing one admin client across probes."""

    def __init__(self, bootstrap_servers: str) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._admin: AIOKafkaAdminClient | None = None

    async def __call__(self) -> ProbeResult:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                if self._admin is None:
                    admin = AIOKafkaAdminClient(
                        bootstrap_servers=self._bootstrap_servers, request_timeout_ms=2500
                    )
                    await admin.start()
                    self._admin = admin
                await self._admin.describe_cluster()
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            log.warning("readiness: broker unavailable: %s", type(exc).__name__)
            await self.close()
            return ProbeResult("kafka", ok=False, detail="unavailable")
        return ProbeResult("kafka")

    async def close(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            with contextlib.suppress(Exception):  # closing a broken client
                await admin.close()

"""A readiness answer says what is unavailable, never how it was reached (hosts, ports, errors)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import create_async_engine

from collections_common.health import KafkaProbe, probe_database
from devstack._process import free_port


class TestReadinessAnswers:
    async def test_a_database_that_does_not_answer_is_unavailable_without_its_address(self) -> None:
        port = free_port()
        engine = create_async_engine(f"postgresql+asyncpg://collector:secret@127.0.0.1:{port}/aging")
        try:
            result = await probe_database(engine)
        finally:
            await engine.dispose()
        assert (result.ok, result.detail) == (False, "unavailable")

    async def test_a_broker_that_does_not_answer_is_unavailable_without_its_address(self) -> None:
        probe = KafkaProbe(f"127.0.0.1:{free_port()}")
        try:
            result = await probe()
        finally:
            await probe.close()
        assert (result.ok, result.detail) == (False, "unavailable")

"""Retention on a real PostgreSQL: expired identities and published outbox rows go, the rest stays."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from collections_common.runtime import RUNTIME_METADATA
from collections_common.runtime.retention import RetentionPruner
from collections_common.runtime.tables import outbox, processed_events
from collections_common.settings import ServiceSettings
from devstack.stack import Stack

pytestmark = pytest.mark.infra

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
async def engine(stack: Stack, namespace: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(stack.create_database(f"{namespace}_retention"))
    async with engine.begin() as conn:
        await conn.run_sync(RUNTIME_METADATA.create_all)
    yield engine
    await engine.dispose()


async def _seed(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            insert(processed_events),
            [
                {"consumer": "c", "source": "s", "event_id": "old", "processed_at": NOW - timedelta(days=15)},
                {
                    "consumer": "c",
                    "source": "s",
                    "event_id": "recent",
                    "processed_at": NOW - timedelta(days=13),
                },
            ],
        )
        row = {"lane": 0, "topic": "t", "key": b"k", "payload": b"{}", "created_at": NOW - timedelta(days=3)}
        await conn.execute(
            insert(outbox),
            [
                {**row, "event_id": "sent-long-ago", "published_at": NOW - timedelta(hours=25)},
                {**row, "event_id": "sent-lately", "published_at": NOW - timedelta(hours=23)},
                {**row, "event_id": "never-sent", "published_at": None},
            ],
        )


async def _ids(engine: AsyncEngine) -> tuple[set[str], set[str]]:
    async with engine.connect() as conn:
        identities = set((await conn.execute(select(processed_events.c.event_id))).scalars())
        events = set((await conn.execute(select(outbox.c.event_id))).scalars())
    return identities, events


class TestRetentionPruner:
    async def test_expired_identities_and_published_rows_go_and_pending_rows_stay(
        self, engine: AsyncEngine
    ) -> None:
        await _seed(engine)
        settings = ServiceSettings(service_name="retained")  # defaults: 14 days, 24 hours

        pruned = await RetentionPruner(engine, settings).prune(now=NOW)

        assert await _ids(engine) == ({"recent"}, {"sent-lately", "never-sent"})
        assert pruned.deleted == {"processed_events": 1, "outbox": 1}
        assert pruned.kept == {"processed_events": 1, "outbox": 2}
        for table, rows in pruned.kept.items():
            assert REGISTRY.get_sample_value("collections_retained_rows", {"table": table}) == rows

    async def test_the_periods_are_settings(self, engine: AsyncEngine) -> None:
        await _seed(engine)
        settings = ServiceSettings(processed_events_keep_hours=12 * 24, outbox_published_keep_hours=72)

        await RetentionPruner(engine, settings).prune(now=NOW)

        assert await _ids(engine) == (set(), {"sent-long-ago", "sent-lately", "never-sent"})

    async def test_the_worker_component_prunes_until_stopped(self, engine: AsyncEngine) -> None:
        await _seed(engine)
        stop = asyncio.Event()
        pruner = RetentionPruner(engine, ServiceSettings(retention_interval_seconds=3600))
        running = asyncio.create_task(pruner.run(stop))
        async with engine.connect() as conn:
            for _ in range(100):
                left = await conn.scalar(select(func.count()).select_from(processed_events))
                await conn.commit()
                if left == 0:
                    break
                await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(running, timeout=5)
        assert left == 0  # both seeded identities are older than 14 days at the real current time

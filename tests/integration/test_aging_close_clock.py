"""Aging's close clock gauges, read from a real PostgreSQL: the date every partition is closed
through, the latest close core banking published, and how long the oldest unapplied close has
waited (the input of the AgingCloseNotApplied and AgingBusinessDayOverdue alerts)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from aging_service.adapters.orm import business_day_closes, metadata, partition_clocks
from aging_service.gauges import StageGauges, midnight_utc
from devstack.stack import Stack

pytestmark = pytest.mark.infra


@pytest.fixture
async def engine(stack: Stack, namespace: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(stack.create_database(f"{namespace}_aging_clock"))
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


def gauge(name: str) -> float:
    value = REGISTRY.get_sample_value(name)
    assert value is not None, f"{name} is not exported"
    return value


async def note_closes(engine: AsyncEngine, noted: dict[date, datetime]) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            business_day_closes.insert(),
            [
                {"business_date": day, "event_id": f"close-{day}", "barrier": {}, "noted_at": at}
                for day, at in noted.items()
            ],
        )


class TestCloseClockGauges:
    async def test_a_close_some_partition_has_not_applied_shows_how_long_it_has_waited(
        self, engine: AsyncEngine
    ) -> None:
        now = datetime.now(UTC)
        await note_closes(
            engine,
            {
                date(2026, 3, 1): now - timedelta(hours=26),
                date(2026, 3, 2): now - timedelta(hours=2),
                date(2026, 3, 3): now - timedelta(minutes=10),
            },
        )
        async with engine.begin() as conn:
            await conn.execute(
                partition_clocks.insert(),
                [
                    {"partition": 0, "closed_through": date(2026, 3, 3)},
                    {"partition": 1, "closed_through": date(2026, 3, 1)},  # behind: 03-02 and 03-03 wait
                    {"partition": 2, "closed_through": date(2026, 3, 2)},
                ],
            )

        await StageGauges(engine, ["CURRENT"]).refresh()

        assert gauge("aging_closed_through_date_seconds") == midnight_utc(date(2026, 3, 1))
        assert gauge("aging_close_noted_date_seconds") == midnight_utc(date(2026, 3, 3))
        assert 2 * 3600 - 60 < gauge("aging_close_wait_seconds") < 2 * 3600 + 60, "03-02 was noted 2 h ago"

    async def test_nothing_waits_once_every_partition_applied_the_latest_close(
        self, engine: AsyncEngine
    ) -> None:
        now = datetime.now(UTC)
        await note_closes(engine, {date(2026, 3, 4): now - timedelta(hours=5)})
        async with engine.begin() as conn:
            await conn.execute(
                partition_clocks.insert(),
                [{"partition": p, "closed_through": date(2026, 3, 3)} for p in range(3)],
            )
        await StageGauges(engine, ["CURRENT"]).refresh()
        assert gauge("aging_close_wait_seconds") > 5 * 3600 - 60

        async with engine.begin() as conn:
            await conn.execute(update(partition_clocks).values(closed_through=date(2026, 3, 4)))
        await StageGauges(engine, ["CURRENT"]).refresh()

        assert gauge("aging_close_wait_seconds") == 0
        assert gauge("aging_closed_through_date_seconds") == midnight_utc(date(2026, 3, 4))


class TestBusinessDateAsUnixTime:
    def test_a_business_date_is_its_midnight_in_utc(self) -> None:
        assert midnight_utc(date(1970, 1, 2)) == 86400
        assert midnight_utc(date(2026, 3, 1)) == 1772323200

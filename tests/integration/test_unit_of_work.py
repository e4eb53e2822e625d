"""The unit of work on a real PostgreSQL: state and outbox commit together, or neither does."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import BigInteger, Column, MetaData, String, Table, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from collections_common.database import session_factory
from collections_common.events import BusinessDayClosed, EventTypes, decode, encode, new_event, validate
from collections_common.runtime import RUNTIME_METADATA, BadInput, Batch, Incoming, Outbox, per_event
from collections_common.runtime.deliveries import Delivery
from collections_common.runtime.tables import outbox
from collections_common.uow import UnitOfWork
from devstack.stack import Stack

pytestmark = pytest.mark.infra

metadata = MetaData()
holds = Table(
    "holds",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("reason", String(40), nullable=False),
)


@pytest.fixture
async def engine(stack: Stack, namespace: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(stack.create_database(f"{namespace}_uow"))
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.run_sync(RUNTIME_METADATA.create_all)
    yield engine
    await engine.dispose()


async def _counts(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as conn:
        state = await conn.scalar(select(func.count()).select_from(holds))
        events = await conn.scalar(select(func.count()).select_from(outbox))
    return int(state or 0), int(events or 0)


async def _write(uow: UnitOfWork) -> None:
    await _write_to(uow.session, uow.outbox)


async def _write_to(session: AsyncSession, outbox_: Outbox) -> None:
    await session.execute(holds.insert().values(reason="hardship"))
    event = new_event(
        EventTypes.BUSINESS_DAY_CLOSED,
        "test",
        "calendar",
        BusinessDayClosed.model_validate({"business_date": "2026-03-02"}),
    )
    outbox_.add("collections.contact.v1", event, key="calendar")


class TestUnitOfWork:
    async def test_commit_writes_the_state_and_its_events_together(self, engine: AsyncEngine) -> None:
        async with UnitOfWork(session_factory(engine)) as uow:
            await _write(uow)
            await uow.commit()
        assert await _counts(engine) == (1, 1)

    async def test_leaving_without_commit_keeps_neither(self, engine: AsyncEngine) -> None:
        async with UnitOfWork(session_factory(engine)) as uow:
            await _write(uow)
        assert await _counts(engine) == (0, 0)

    async def test_an_error_before_commit_keeps_neither(self, engine: AsyncEngine) -> None:
        with pytest.raises(RuntimeError):
            async with UnitOfWork(session_factory(engine)) as uow:
                await _write(uow)
                await uow.outbox.flush()
                raise RuntimeError("the route failed")
        assert await _counts(engine) == (0, 0)


def _close(day: str, offset: int) -> Incoming:
    event = new_event(
        EventTypes.BUSINESS_DAY_CLOSED,
        "corebank",
        "calendar",
        BusinessDayClosed.model_validate({"business_date": day}),
    )
    delivery = Delivery(
        topic="corebank.calendar.v1", partition=0, offset=offset, key=None, value=encode(event)
    )
    return Incoming(delivery, validate(decode(delivery.value), topic=delivery.topic))


class TestPerEvent:
    async def test_an_event_rejected_as_bad_input_leaves_neither_state_nor_events(
        self, engine: AsyncEngine
    ) -> None:
        """Each event's handler runs in a savepoint; its messages go with it."""

        async def write_then_refuse_the_second_day(incoming: Incoming, batch: Batch) -> None:
            await _write_to(batch.session, batch.outbox)
            if incoming.delivery.offset == 1:
                raise BadInput("a rule the event breaks")

        good, bad = _close("2026-03-02", 0), _close("2026-03-03", 1)
        handler = per_event({BusinessDayClosed: write_then_refuse_the_second_day})
        async with session_factory(engine)() as session, session.begin():
            batch = Batch(session=session, outbox=Outbox(session), events=[good, bad])
            await handler(batch)
            await batch.outbox.flush()
        assert batch.rejected == {bad.delivery.position: "a rule the event breaks"}
        assert await _counts(engine) == (1, 1), "the good event's row and message only"

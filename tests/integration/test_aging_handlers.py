"""The aging handlers against a real PostgreSQL: provenance of facts and committed-only metrics."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from aging_service.adapters.orm import statements
from aging_service.adapters.repository import BookRepository
from aging_service.bootstrap import SERVICE
from aging_service.domain.policy import AgingPolicy
from aging_service.handlers import AgingHandlers
from aging_service.metrics import STAGE_TRANSITIONS
from aging_service.settings import AgingSettings
from collections_common.events import decode, validate
from collections_common.runtime import Batch, Outbox
from collections_common.runtime.deliveries import Delivery, Incoming
from devstack.stack import Stack

pytestmark = [pytest.mark.infra]

CLOSED = date(2026, 2, 1)


@pytest.fixture
async def engine(stack: Stack, namespace: str) -> AsyncIterator[AsyncEngine]:
    database = f"{namespace}_aging"
    stack.create_database(database)
    url = stack.database_url(database)
    SERVICE.migrate(AgingSettings(database_url=url))
    engine = create_async_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()


def _incoming(offset: int, event_id: str, type_: str, data: dict[str, Any]) -> Incoming:
    body = {"specversion": "1.0", "id": event_id, "source": "corebank", "type": type_, "data": data}
    raw = json.dumps(body).encode()
    topic = "corebank.billing.v1" if type_.startswith("corebank.statement") else "corebank.payments.v1"
    delivery = Delivery(topic=topic, partition=0, offset=offset, key=b"ACC-1", value=raw)
    return Incoming(delivery, validate(decode(raw), topic=topic))


def _statement(offset: int, event_id: str, *, statement_date: str, due_date: str) -> Incoming:
    data = {
        "account_id": "ACC-1",
        "statement_id": "S1",
        "statement_date": statement_date,
        "due_date": due_date,
        "statement_balance_minor": 100,
        "minimum_due_minor": 100,
        "currency": "CNY",
    }
    return _incoming(offset, event_id, "corebank.statement.issued", data)


async def _apply(
    engine: AsyncEngine, handlers: AgingHandlers, *events: Incoming, commit: bool = True
) -> Batch:
    async with AsyncSession(engine) as session:
        await session.begin()
        batch = Batch(session=session, outbox=Outbox(session), events=list(events))
        await handlers.handle_batch(batch)
        await batch.outbox.flush()
        if commit:
            await session.commit()
        else:
            await session.rollback()
        return batch


def _transitions(cause: str) -> float:
    return STAGE_TRANSITIONS.labels("CURRENT", "M1", cause)._value.get()


class TestProvenance:
    async def test_a_rejected_event_does_not_become_the_source_of_the_fact_accepted_after_it(
        self, engine: AsyncEngine
    ) -> None:
        handlers = AgingHandlers(AgingPolicy(), "aging")
        rejected = _statement(0, "ev-bad", statement_date="2026-02-05", due_date="2026-01-25")
        accepted = _statement(1, "ev-good", statement_date="2026-01-05", due_date="2026-01-25")
        batch = await _apply(engine, handlers, rejected, accepted)
        assert batch.is_rejected(rejected) and not batch.is_rejected(accepted)
        async with engine.connect() as conn:
            source = await conn.scalar(select(statements.c.event_id).where(statements.c.statement_id == "S1"))
        assert source == "ev-good"


class TestSaveAndLoad:
    async def test_a_statement_due_on_the_last_date_is_saved_and_loaded_back(
        self, engine: AsyncEngine
    ) -> None:
        handlers = AgingHandlers(AgingPolicy(), "aging")
        await _apply(
            engine, handlers, _statement(0, "ev-1", statement_date="9999-12-01", due_date="9999-12-31")
        )
        async with AsyncSession(engine) as session:
            book = (await BookRepository(session, handlers.policy).load(["ACC-1"], {}))["ACC-1"]
        assert [(s.statement_id, str(s.due_date)) for s in book.statements.values()] == [("S1", "9999-12-31")]
        assert book.assess(None).past_due_minor == 0


class TestStageTransitionMetric:
    async def test_a_change_counts_only_once_its_transaction_commits(self, engine: AsyncEngine) -> None:
        handlers = AgingHandlers(AgingPolicy(), "aging")
        await _apply(
            engine, handlers, _statement(0, "ev-1", statement_date="2026-01-05", due_date="2026-01-25")
        )
        before = _transitions("day_close")
        async with AsyncSession(engine) as session:
            await session.begin()
            outbox = Outbox(session)
            await handlers.apply_close(session, outbox, [0], CLOSED, "c1")
            await outbox.flush()
            assert _transitions("day_close") == before, "not counted before the commit"
            await session.rollback()
        assert _transitions("day_close") == before, "a rolled-back change is never counted"
        async with AsyncSession(engine) as session:
            await session.begin()
            outbox = Outbox(session)
            await handlers.apply_close(session, outbox, [0], CLOSED, "c1")
            await outbox.flush()
            await session.commit()
        assert _transitions("day_close") == before + 1

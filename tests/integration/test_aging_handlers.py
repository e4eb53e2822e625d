"""The aging handlers against a real PostgreSQL: provenance of facts and committed-only metrics."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from aging_service.adapters.orm import accounts, stage_changes, statements
from aging_service.adapters.repository import BookRepository
from aging_service.bootstrap import SERVICE
from aging_service.domain.policy import AgingPolicy
from aging_service.handlers import AgingHandlers
from aging_service.metrics import STAGE_TRANSITIONS
from aging_service.settings import AgingSettings
from collections_common.events import AccountOpened, decode, spec_for, validate
from collections_common.events._examples import EXAMPLE_DATA
from collections_common.runtime import Batch, Outbox
from collections_common.runtime.deliveries import Delivery, Incoming
from collections_common.runtime.tables import outbox
from devstack.stack import Stack
from tests.integration.driver_queries import sent_to_driver

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
    topic = spec_for(type_).topic
    delivery = Delivery(topic=topic, partition=0, offset=offset, key=b"ACC-1", value=raw)
    return Incoming(delivery, validate(decode(raw), topic=topic))


def _statement(
    offset: int, event_id: str, *, statement_date: str, due_date: str, account: str = "ACC-1"
) -> Incoming:
    data = {
        "account_id": account,
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


class TestOrderWithinABatch:
    async def test_an_accounts_opening_is_applied_before_its_other_events_of_the_batch(
        self, engine: AsyncEngine
    ) -> None:
        # A batch holds several topics' records in no set order between them; core banking
        # publishes the opening first. Here the statement comes first in the batch, already past
        # due at the as-of date: the stage change it causes names the debtor all the same.
        handlers = AgingHandlers(AgingPolicy(), "aging")
        async with AsyncSession(engine) as session, session.begin():
            await handlers.apply_close(session, Outbox(session), [0], CLOSED, "c1")
        opening = next(d for d in EXAMPLE_DATA if isinstance(d, AccountOpened)).model_dump(mode="json")
        opening.update(account_id="ACC-1", customer_id="CUS-7")
        late = _statement(0, "ev-statement", statement_date="2026-01-05", due_date="2026-01-25")
        opened = _incoming(0, "ev-opened", "corebank.account.opened", opening)

        await _apply(engine, handlers, late, opened)

        async with engine.connect() as conn:
            payloads = (await conn.scalars(select(outbox.c.payload).order_by(outbox.c.id))).all()
        changes = [json.loads(payload)["data"] for payload in payloads]
        assert [(c["to_stage"], c["customer_id"]) for c in changes] == [("M1", "CUS-7")]


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


def _payment(offset: int, event_id: str, *, value_date: str, account: str = "ACC-1") -> Incoming:
    data = {
        "account_id": account,
        "payment_id": "P1",
        "value_date": value_date,
        "amount_minor": 100,
        "currency": "CNY",
    }
    return _incoming(offset, event_id, "corebank.payment.posted", data)


async def _stored(engine: AsyncEngine) -> tuple[str | None, list[tuple[str, str, str]]]:
    async with engine.connect() as conn:
        stage = await conn.scalar(select(accounts.c.stage).where(accounts.c.account_id == "ACC-1"))
        history = (
            await conn.execute(
                select(stage_changes.c.from_stage, stage_changes.c.to_stage, stage_changes.c.cause).order_by(
                    stage_changes.c.id
                )
            )
        ).all()
    return stage, [tuple(row) for row in history]


async def _owing(engine: AsyncEngine, handlers: AgingHandlers, owed: list[tuple[str, str]]) -> None:
    """Commit a statement of 2026-01-05 for each (account, due date) of ``owed``."""
    await _apply(
        engine,
        handlers,
        *(
            _statement(n, f"s-{a}", statement_date="2026-01-05", due_date=due, account=a)
            for n, (a, due) in enumerate(owed)
        ),
    )


async def _changes_by_account(engine: AsyncEngine) -> list[tuple[str, str, date]]:
    """The stored stage changes, oldest first: (account, stage reached, as-of date)."""
    async with engine.connect() as conn:
        history = await conn.execute(
            select(stage_changes.c.account_id, stage_changes.c.to_stage, stage_changes.c.as_of).order_by(
                stage_changes.c.id
            )
        )
    return [tuple(row) for row in history]


@asynccontextmanager
async def _sent(engine: AsyncEngine, session: AsyncSession) -> AsyncIterator[list[str]]:
    """The SQL ``session`` sends meanwhile: through SQLAlchemy, and to its driver directly (the
    repository's reads and saves, ``session_driver``)."""
    sent: list[str] = []

    def through(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", through)
    try:
        async with sent_to_driver(session, into=sent):
            yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", through)


class TestOneTransactionSeveralSteps:
    """A batch passing closes: events, a close, more events, all in one transaction."""

    async def test_the_books_are_read_once_and_written_when_the_transaction_commits(
        self, engine: AsyncEngine
    ) -> None:
        handlers = AgingHandlers(AgingPolicy(), "aging")
        statement = _statement(0, "ev-1", statement_date="2026-01-05", due_date="2026-01-25")
        async with AsyncSession(engine) as session:
            await session.begin()
            async with _sent(engine, session) as executed:
                outbox = Outbox(session)
                await handlers.handle_batch(Batch(session=session, outbox=outbox, events=[statement]))
                assert [sql for sql in executed if "FROM accounts" in sql], "the book was read"
                # the close sees the statement of the book in memory, not saved yet
                await handlers.apply_close(session, outbox, [0], CLOSED, "c1")
                before = len(executed)
                payment = _payment(1, "ev-2", value_date="2026-02-02")
                await handlers.handle_batch(Batch(session=session, outbox=outbox, events=[payment]))
                assert executed[before:] == [], "the book and its partition's clock are in memory"
                await outbox.flush()
                assert not [sql for sql in executed if "INSERT INTO accounts " in sql]
                await session.commit()

        saves = [sql for sql in executed if "INSERT INTO accounts " in sql]
        assert len(saves) == 1, "saved once"
        assert "INSERT INTO statements " in saves[0] and "INSERT INTO stage_changes " in saves[0], (
            "the facts and the stage history written in the same statement as the books"
        )

        assert await _stored(engine) == (
            "CURRENT",
            [("CURRENT", "M1", "day_close"), ("M1", "CURRENT", "payment")],
        )
        async with engine.connect() as conn:
            assert await conn.scalar(select(func.count()).select_from(statements)) == 1

    async def test_closes_in_one_transaction_find_each_due_book_by_its_row_or_in_memory(
        self, engine: AsyncEngine
    ) -> None:
        handlers = AgingHandlers(AgingPolicy(), "aging")
        owed = [("A", "2026-01-25"), ("B", "2026-02-10"), ("C", "2026-02-10")]
        await _owing(engine, handlers, owed)
        async with AsyncSession(engine) as session:
            await session.begin()
            async with _sent(engine, session) as executed:
                outbox = Outbox(session)
                # C is paid in this transaction: its stored row is due on 02-11, its book in memory is not
                paid = _payment(3, "p-C", value_date="2026-02-01", account="C")
                await handlers.handle_batch(Batch(session=session, outbox=outbox, events=[paid]))
                assert (
                    await handlers.apply_close(session, outbox, [0], date(2026, 1, 25), "c1") == 1
                )  # A, read
                assert (
                    await handlers.apply_close(session, outbox, [0], date(2026, 2, 10), "c2") == 1
                )  # B, read
                assert (
                    await handlers.apply_close(session, outbox, [0], date(2026, 2, 24), "c3") == 1
                )  # A, in memory
                await outbox.flush()
                await session.commit()
        due_reads = [sql for sql in executed if "accounts.next_change_on <=" in sql]

        # after the first, each due read asks only for the dates after the last one's
        assert ["accounts.next_change_on >" in sql.replace("<=", "") for sql in due_reads] == [
            False,
            True,
            True,
        ]
        assert await _changes_by_account(engine) == [
            ("A", "M1", date(2026, 1, 26)),
            ("B", "M1", date(2026, 2, 11)),
            ("A", "M2", date(2026, 2, 25)),
        ]

    async def test_closes_that_know_the_transactions_last_close_read_the_stored_due_books_once(
        self, engine: AsyncEngine
    ) -> None:
        handlers = AgingHandlers(AgingPolicy(), "aging")
        owed = [("A", "2026-01-25"), ("B", "2026-02-10"), ("C", "2026-02-10"), ("D", "2026-03-20")]
        await _owing(engine, handlers, owed)
        last = date(2026, 2, 24)
        async with AsyncSession(engine) as session:
            await session.begin()
            async with _sent(engine, session) as executed:
                outbox = Outbox(session)
                # C is paid in this transaction: its stored row is due on 02-11, its book in memory is not
                paid = _payment(4, "p-C", value_date="2026-02-01", account="C")
                await handlers.handle_batch(Batch(session=session, outbox=outbox, events=[paid]))
                touched = [
                    await handlers.apply_close(session, outbox, [0], day, f"c{n}", last_close=last)
                    for n, day in enumerate([date(2026, 1, 25), date(2026, 2, 10), last])
                ]
                await outbox.flush()
                await session.commit()
        due_reads = [sql for sql in executed if "accounts.next_change_on <=" in sql]

        assert len(due_reads) == 1, "the first close read the stored books due through the last one"
        assert touched == [1, 1, 1], "each close took the books due by its own date: A, then B, then A"
        assert await _changes_by_account(engine) == [
            ("A", "M1", date(2026, 1, 26)),
            ("B", "M1", date(2026, 2, 11)),
            ("A", "M2", date(2026, 2, 25)),
        ]

    async def test_a_rolled_back_transaction_writes_nothing(self, engine: AsyncEngine) -> None:
        handlers = AgingHandlers(AgingPolicy(), "aging")
        statement = _statement(0, "ev-1", statement_date="2026-01-05", due_date="2026-01-25")
        async with AsyncSession(engine) as session:
            await session.begin()
            outbox = Outbox(session)
            await handlers.handle_batch(Batch(session=session, outbox=outbox, events=[statement]))
            await handlers.apply_close(session, outbox, [0], CLOSED, "c1")
            await session.rollback()
            await session.begin()  # the same session, a new transaction: nothing carried over
            await session.commit()
        assert await _stored(engine) == (None, [])

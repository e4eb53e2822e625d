"""The bulk writer (one ``INSERT ... SELECT FROM unnest(arrays)``) on a real PostgreSQL: rows keep
their order, JSON survives, conflicts and ``RETURNING`` behave as in a plain ``INSERT``, and the
rows belong to the caller's transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import BigInteger, Column, MetaData, String, Table, event, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from collections_common.bulk import Rows, insert_all, insert_rows
from devstack.stack import Stack
from tests.integration.driver_queries import sent_to_driver

pytestmark = pytest.mark.infra

metadata = MetaData()
notes = Table(
    "notes",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("key", String(20), nullable=False, unique=True),
    Column("body", String(100), nullable=False),
    Column("extra", JSONB, nullable=False),
)
tags = Table(
    "tags",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("key", String(20), nullable=False, unique=True),
    Column("tag", String(20), nullable=False),
)


@pytest.fixture
async def engine(stack: Stack, namespace: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(stack.create_database(f"{namespace}_bulk"))
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


def _rows(*keys: str, body: str = "first") -> list[dict[str, object]]:
    return [{"key": key, "body": body, "extra": {"key": key, "n": [1, 2]}} for key in keys]


async def _contents(engine: AsyncEngine) -> list[tuple[int, str, str, object]]:
    async with AsyncSession(engine) as session:
        result = await session.execute(
            select(notes.c.id, notes.c.key, notes.c.body, notes.c.extra).order_by(notes.c.id)
        )
        return [tuple(row) for row in result]  # type: ignore[misc]


async def test_rows_are_inserted_in_their_order_with_json_kept(engine: AsyncEngine) -> None:
    async with AsyncSession(engine) as session, session.begin():
        await insert_rows(session, notes, _rows("c", "a", "b"))
    contents = await _contents(engine)
    assert [key for _, key, _, _ in contents] == ["c", "a", "b"], "serial ids follow the rows' order"
    assert contents[0][3] == {"key": "c", "n": [1, 2]}


async def test_conflicts_are_left_alone_or_updated_and_returning_names_what_was_written(
    engine: AsyncEngine,
) -> None:
    async with AsyncSession(engine) as session, session.begin():
        await insert_rows(session, notes, _rows("a", "b"))
    async with AsyncSession(engine) as session, session.begin():
        kept = await insert_rows(
            session, notes, _rows("b", "c", body="second"), conflict=("key",), returning=("key",)
        )
    assert kept == [("c",)], "only the new row is returned; the existing one is left alone"
    async with AsyncSession(engine) as session, session.begin():
        updated = await insert_rows(
            session,
            notes,
            _rows("a", "d", body="third"),
            conflict=("key",),
            update=("body",),
            returning=("key", "body"),
        )
    assert sorted(updated) == [("a", "third"), ("d", "third")]
    assert {key: body for _, key, body, _ in await _contents(engine)} == {
        "a": "third",
        "b": "first",
        "c": "second",
        "d": "third",
    }


async def test_two_writes_in_one_transaction_each_insert_only_their_own_rows(engine: AsyncEngine) -> None:
    async with AsyncSession(engine) as session, session.begin():
        await insert_rows(session, notes, _rows("a", "b"))
        await insert_rows(session, notes, _rows("c"))
        count = await session.scalar(select(func.count()).select_from(notes))
    assert count == 3


async def test_rows_written_in_a_transaction_that_rolls_back_are_gone(engine: AsyncEngine) -> None:
    with pytest.raises(RuntimeError):
        async with AsyncSession(engine) as session, session.begin():
            await insert_rows(session, notes, _rows("a", "b"))
            raise RuntimeError("the batch failed")
    assert await _contents(engine) == []
    async with AsyncSession(engine) as session, session.begin():
        await insert_rows(session, notes, _rows("c"))
    assert [key for _, key, _, _ in await _contents(engine)] == ["c"]


async def test_update_without_conflict_columns_is_refused(engine: AsyncEngine) -> None:
    async with AsyncSession(engine) as session, session.begin():
        with pytest.raises(ValueError, match="conflict"):
            await insert_rows(session, notes, _rows("a"), update=("body",))


async def test_writes_to_several_tables_go_in_one_statement_as_each_alone_would(engine: AsyncEngine) -> None:
    async with AsyncSession(engine) as session, session.begin():
        await insert_rows(session, notes, _rows("a"))
    statements: list[str] = []
    sync_engine = engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    async with AsyncSession(engine) as session, session.begin():
        await insert_all(
            session,
            [
                Rows(notes, _rows("a", "b", body="second"), conflict=("key",), update=("body",)),
                Rows(tags, [{"key": "x", "tag": "t1"}, {"key": "y", "tag": "t2"}], conflict=("key",)),
            ],
        )
    assert len(statements) == 1, "one round trip for both tables"
    contents = await _contents(engine)
    assert [(key, body, extra) for _, key, body, extra in contents] == [
        ("a", "second", {"key": "a", "n": [1, 2]}),
        ("b", "second", {"key": "b", "n": [1, 2]}),
    ], "the conflict updates, the new row is inserted, JSON kept"
    async with AsyncSession(engine) as session:
        rows = (await session.execute(select(tags.c.key, tags.c.tag).order_by(tags.c.id))).all()
    assert [tuple(row) for row in rows] == [("x", "t1"), ("y", "t2")]


async def test_one_write_with_rows_among_several_is_a_plain_insert(engine: AsyncEngine) -> None:
    async with AsyncSession(engine) as session, session.begin():
        await insert_all(session, [Rows(tags, []), Rows(notes, _rows("a"))])
        await insert_all(session, [])
    assert [key for _, key, _, _ in await _contents(engine)] == ["a"]


async def test_in_a_begun_transaction_the_writes_go_to_the_driver_in_one_statement_and_roll_back_with_it(
    engine: AsyncEngine,
) -> None:
    with pytest.raises(RuntimeError):
        async with AsyncSession(engine) as session, session.begin():
            await session.execute(select(func.count()).select_from(notes))  # SQLAlchemy begins it
            async with sent_to_driver(session) as sent:
                await insert_all(
                    session,
                    [Rows(notes, _rows("a")), Rows(tags, [{"key": "x", "tag": "t1"}], conflict=("key",))],
                )
            raise RuntimeError("the batch failed")
    inserts = [query for query in sent if "INSERT" in query]  # the driver may look types up first
    assert len(inserts) == 1, sent
    assert "INSERT INTO notes " in inserts[0] and "INSERT INTO tags " in inserts[0]
    assert await _contents(engine) == [], "rolled back with the session's transaction"
    async with AsyncSession(engine) as session, session.begin():
        await session.execute(select(func.count()).select_from(notes))
        await insert_all(session, [Rows(notes, _rows("b")), Rows(tags, [{"key": "y", "tag": "t2"}])])
    assert [key for _, key, _, _ in await _contents(engine)] == ["b"]

"""Writing many rows in one statement: ``INSERT ... SELECT FROM unnest(<one array per column>)``.

One round trip and one parameter per column, whatever the number of rows; PostgreSQL does the
per-row work. Used wherever a batch writes rows (outbox, processed events, aging's books);
``insert_all`` writes rows of several tables in one statement.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, BindParameter, Row, Table, Text, TextClause, bindparam, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from collections_common.database import session_driver

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]
_PARAMETER = re.compile(r":(w[0-9]+_[a-z_0-9]+)")
"""A named parameter of a combined statement (``_prefix``), to number for the driver."""


async def insert_rows(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict: Sequence[str] = (),
    update: Sequence[str] = (),
    returning: Sequence[str] = (),
) -> Sequence[Row[Any]]:
    """Insert ``rows`` (all with the same keys) into ``table``.

    With ``conflict`` (the key columns) existing rows are left alone, or, when ``update`` names
    columns, those columns take the new values (``ON CONFLICT ... DO UPDATE``). With
    ``returning``, those columns of the rows inserted or updated (not of the rows left alone)
    are returned.
    """
    if not rows:
        return []
    columns = tuple(rows[0].keys())
    statement, json_columns = _statement(table, columns, tuple(conflict), tuple(update), tuple(returning))
    result = await session.execute(statement, _values(rows, columns, json_columns))
    return result.all() if returning else []


@dataclass(frozen=True)
class Rows:
    """Rows for one table, as ``insert_rows`` takes them (for ``insert_all``)."""

    table: Table
    rows: Sequence[Mapping[str, Any]]
    conflict: Sequence[str] = ()
    update: Sequence[str] = ()


async def insert_all(session: AsyncSession, writes: Sequence[Rows]) -> None:
    """Each of ``writes`` that has rows, as ``insert_rows`` would insert them, all in one statement
    (one round trip instead of one per table): every insert but the last in a ``WITH``. Sent to
    the session's driver directly once the session's transaction has begun (``session_driver``).

    PostgreSQL runs the inserts of one statement on one snapshot: none sees the rows another
    writes, so each table is written at most once and the tables must not depend on one another
    (no foreign key, no trigger reading another of them).
    """
    present = [write for write in writes if write.rows]
    if not present:
        return
    shapes = tuple(
        (write.table, tuple(write.rows[0].keys()), tuple(write.conflict), tuple(write.update))
        for write in present
    )
    combined = _combined(shapes)
    values: dict[str, list[Any]] = {}
    for index, (write, (_, columns, _, _)) in enumerate(zip(present, shapes, strict=True)):
        for name, column in _values(write.rows, columns, combined.json_columns[index]).items():
            values[_prefix(index) + name] = column
    driver = await session_driver(session)
    if driver.is_in_transaction():
        await driver.execute(combined.positional, *(values[name] for name in combined.order))
    else:  # SQLAlchemy begins the session's transaction with a statement of its own
        await session.execute(combined.statement, values)


def _values(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str], json_columns: frozenset[str]
) -> dict[str, list[Any]]:
    """One array per column; JSON values travel as text, one array element each (a list would
    read as a dimension)."""
    return {
        name: [json.dumps(row[name]) for row in rows] if name in json_columns else [row[name] for row in rows]
        for name in columns
    }


@functools.lru_cache(maxsize=256)
def _statement(
    table: Table,
    columns: tuple[str, ...],
    conflict: tuple[str, ...],
    update: tuple[str, ...],
    returning: tuple[str, ...],
) -> tuple[TextClause, frozenset[str]]:
    """The statement for one shape of write (built once: batches repeat the same few shapes),
    and which of its columns are JSON."""
    sql, parameters, json_columns = _insert(table, columns, conflict, update, returning, "")
    return text(sql).bindparams(*parameters), json_columns


@dataclass(frozen=True)
class _Combined:
    statement: TextClause
    """For SQLAlchemy, with named parameters."""
    positional: str
    """The same SQL for the driver, with ``$1``, ``$2``... in the order of ``order``."""
    order: tuple[str, ...]
    json_columns: tuple[frozenset[str], ...]
    """Each write's JSON columns."""


@functools.lru_cache(maxsize=256)
def _combined(
    shapes: tuple[tuple[Table, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...],
) -> _Combined:
    """One statement for several writes (``insert_all``), built once per combination of shapes;
    each write's parameters are named after its place (``_prefix``)."""
    parts = [
        _insert(table, columns, conflict, update, (), _prefix(index))
        for index, (table, columns, conflict, update) in enumerate(shapes)
    ]
    *first, (last, _, _) = parts
    sql = "".join(
        f"{'WITH' if index == 0 else ','} w{index} AS ({part}) " for index, (part, _, _) in enumerate(first)
    )
    sql += last
    parameters = [parameter for _, each, _ in parts for parameter in each]
    order = tuple(parameter.key for parameter in parameters)
    number = {name: index for index, name in enumerate(order, start=1)}
    positional = _PARAMETER.sub(lambda match: f"${number[match[1]]}", sql)
    return _Combined(
        text(sql).bindparams(*parameters),
        positional,
        order,
        tuple(json_columns for _, _, json_columns in parts),
    )


def _prefix(index: int) -> str:
    """The parameter names' prefix of the ``index``-th write of a combined statement."""
    return f"w{index}_"


def _insert(
    table: Table,
    columns: tuple[str, ...],
    conflict: tuple[str, ...],
    update: tuple[str, ...],
    returning: tuple[str, ...],
    prefix: str,
) -> tuple[str, list[BindParameter[Any]], frozenset[str]]:
    """The ``INSERT`` of one write, its parameters (named ``prefix`` + column) and which of its
    columns are JSON."""
    json_columns = frozenset(name for name in columns if isinstance(table.c[name].type, JSON))
    casts = ", ".join(
        f"CAST(CAST(:{prefix}{name} AS text[]) AS {_array_type(table, name)})"
        if name in json_columns
        else f"CAST(:{prefix}{name} AS {_array_type(table, name)})"
        for name in columns
    )
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM unnest({casts})"
    if conflict:
        target = ", ".join(conflict)
        if update:
            assignments = ", ".join(f"{name} = EXCLUDED.{name}" for name in update)
            sql += f" ON CONFLICT ({target}) DO UPDATE SET {assignments}"
        else:
            sql += f" ON CONFLICT ({target}) DO NOTHING"
    elif update:
        raise ValueError("update needs the conflict columns")
    if returning:
        sql += f" RETURNING {', '.join(returning)}"
    parameters = [
        bindparam(
            prefix + name, type_=postgresql.ARRAY(Text() if name in json_columns else table.c[name].type)
        )
        for name in columns
    ]
    return sql, parameters, json_columns


def _array_type(table: Table, column: str) -> str:
    return f"{table.c[column].type.compile(dialect=_DIALECT)}[]"

"""Writing many rows in one statement: ``INSERT ... SELECT FROM unnest(<one array per column>)``.

One round trip and one parameter per column, whatever the number of rows; PostgreSQL does the
per-row work. Used wherever a batch writes rows (outbox, processed events, aging's books).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import JSON, Row, Table, Text, TextClause, bindparam, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]


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
    values = {
        # JSON values travel as text, one array element each (a list would read as a dimension)
        name: [json.dumps(row[name]) if name in json_columns else row[name] for row in rows]
        for name in columns
    }
    result = await session.execute(statement, values)
    return result.all() if returning else []


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
    json_columns = frozenset(name for name in columns if isinstance(table.c[name].type, JSON))
    casts = ", ".join(
        f"CAST(CAST(:{name} AS text[]) AS {_array_type(table, name)})"
        if name in json_columns
        else f"CAST(:{name} AS {_array_type(table, name)})"
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
    statement = text(sql).bindparams(
        *(
            bindparam(name, type_=postgresql.ARRAY(Text() if name in json_columns else table.c[name].type))
            for name in columns
        )
    )
    return statement, json_columns


def _array_type(table: Table, column: str) -> str:
    return f"{table.c[column].type.compile(dialect=_DIALECT)}[]"

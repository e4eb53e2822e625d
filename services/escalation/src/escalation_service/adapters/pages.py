"""Keyset pages over a table's ``seq`` column, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, select
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["page"]


async def page(
    session: AsyncSession,
    table: Table,
    *,
    where: Sequence[ColumnElement[bool]],
    before: int | None,
    limit: int,
) -> tuple[list[Any], int | None]:
    """Up to ``limit`` rows matching ``where`` with ``seq`` below ``before``, newest first, and the
    ``seq`` to continue from (``None`` on the last page)."""
    query = select(table).where(*where).order_by(table.c.seq.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(table.c.seq < before)
    rows = list(await session.execute(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].seq if more and rows else None)

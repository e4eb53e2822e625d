"""What a session sends to its driver (asyncpg) directly: the writes and reads that bypass
SQLAlchemy (``collections_common.database.session_driver``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from collections_common.database import session_driver


@asynccontextmanager
async def sent_to_driver(session: AsyncSession, into: list[str] | None = None) -> AsyncIterator[list[str]]:
    """The SQL of every statement ``session``'s driver runs while the block does, in order
    (appended to ``into`` when given)."""
    sent: list[str] = [] if into is None else into

    def note(query: Any) -> None:
        sent.append(query.query)

    driver = await session_driver(session)
    driver.add_query_logger(note)
    try:
        yield sent
    finally:
        driver.remove_query_logger(note)

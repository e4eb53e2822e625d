"""The guard of statements sent to a session's asyncpg connection that belong in its transaction.

Statements sent to the session's asyncpg connection directly (``collections_common.database.
session_driver``: a permit's reservation, a round of stage changes) skip SQLAlchemy's statement
execution and run in the session's transaction all the same, since it is the same connection.
With asyncpg, SQLAlchemy begins that transaction only when it runs the transaction's first
statement: a statement that must be inside it (after the debtor's advisory lock,
``CaseRepository.lock``) gets its connection from :func:`in_transaction`, which refuses a
connection that is not in one rather than let the statement commit on its own.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from collections_common.database import session_driver

__all__ = ["in_transaction", "require_transaction"]


async def in_transaction(session: AsyncSession) -> Any:
    """``session``'s asyncpg connection (``collections_common.database.session_driver``), which
    must be in a transaction; RuntimeError otherwise."""
    return require_transaction(
        await session_driver(session),
        "this statement belongs in a transaction: take the debtor's lock first",
    )


def require_transaction(driver: Any, refusal: str) -> Any:
    """``driver`` if it is in a transaction; RuntimeError(``refusal``) otherwise (a statement sent
    to it would commit on its own)."""
    if not driver.is_in_transaction():
        raise RuntimeError(refusal)
    return driver

"""The async SQLAlchemy engine and sessions of a service's own PostgreSQL database."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util import greenlet_spawn

from collections_common.settings import ServiceSettings

SERVER_SETTINGS = {
    # Statements are prepared and cached per connection. After five runs PostgreSQL may switch a
    # prepared statement to a generic plan chosen without its parameters; planned while a table
    # was still small, a batch lookup (``= ANY(:ids)``, a join on ``unnest``) stays a full scan
    # after the table has grown. Planning each run with its parameters costs far less than that.
    "plan_cache_mode": "force_custom_plan",
}


GENERIC_PLANS = {"plan_cache_mode": "auto"}
"""``server_settings`` for an engine whose statements each look rows up by key (a hot path):
PostgreSQL may then keep a prepared statement's generic plan instead of planning every run,
which a statement that reads one debtor or one case by key gains from (see
:data:`SERVER_SETTINGS` for why it is not the default)."""


def create_engine(
    settings: ServiceSettings,
    *,
    pre_ping: bool = True,
    pre_ping_after_idle: float | None = None,
    max_overflow: int = 10,
    server_settings: Mapping[str, str] | None = None,
) -> AsyncEngine:
    """The service's engine. ``pre_ping`` checks each connection with a round trip as it leaves
    the pool, so an HTTP request after a database restart does not fail. A worker passes False:
    it retries every transient failure with backoff, and SQLAlchemy drops the pool's older
    connections at the first disconnect it sees, so the check would only cost it round trips.
    Beyond the pool's size, up to ``max_overflow`` more connections are opened when needed and
    closed as they come back. ``server_settings`` override :data:`SERVER_SETTINGS` for this
    engine's connections.

    ``pre_ping_after_idle`` (seconds; only with ``pre_ping``) checks only a connection that sat
    in the pool at least that long: a busy API then pays no check (asyncpg's ping is three round
    trips: BEGIN, an empty statement, ROLLBACK), and a request after a quiet spell still gets a
    connection that answers. A connection that died while in use for less than that fails its
    request, and SQLAlchemy then drops every older connection of the pool."""
    engine = create_async_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=pre_ping and pre_ping_after_idle is None,
        connect_args={
            "timeout": 5,
            "server_settings": {
                "application_name": settings.service_name,
                **SERVER_SETTINGS,
                **(server_settings or {}),
            },
        },
    )
    if pre_ping and pre_ping_after_idle is not None:
        ping_after_idle(engine, pre_ping_after_idle)
    return engine


_IDLE_SINCE = "collections_idle_since"


def ping_after_idle(engine: AsyncEngine, seconds: float) -> None:
    """Check a connection leaving ``engine``'s pool when it was idle there at least ``seconds``.

    A connection that does not answer is discarded and the pool hands out another (SQLAlchemy
    retries a checkout that raises ``DisconnectionError``)."""
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "checkin")
    def _note_idle(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(sync_engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: Any) -> None:
        since = record.info.pop(_IDLE_SINCE, None)
        if since is None or time.monotonic() - since < seconds:
            return
        try:
            alive = sync_engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("the connection did not answer its ping") from exc
        if not alive:
            raise DisconnectionError("the connection did not answer its ping")


async def session_driver(session: AsyncSession) -> Any:
    """The asyncpg connection under ``session``'s connection (checked out from the pool if need
    be), for a statement sent to it directly, without SQLAlchemy's statement execution (compiling,
    parameter processing, result wrapping: most of a small statement's CPU in a worker). It runs
    in the session's transaction once SQLAlchemy has begun it, which it does lazily, at the first
    statement it sends itself (``driver.is_in_transaction()`` tells). Its errors are asyncpg's
    own, not wrapped in SQLAlchemy's (``runtime.errors`` classifies both)."""
    connection = await session.connection()
    pooled = await connection.get_raw_connection()
    return pooled.driver_connection


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


LOST_CONNECTION = (
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.AdminShutdownError,
    asyncpg.CannotConnectNowError,
    ConnectionError,
)
"""What a dropped connection raises on an asyncpg connection used directly, including (when the
server's goodbye arrived while the connection was idle in the pool) a protocol state the client
cannot leave."""


@asynccontextmanager
async def pooled_driver(engine: AsyncEngine) -> AsyncIterator[Any]:
    """The asyncpg connection of a connection checked out of ``engine``'s pool (its checkout
    events run, a pre-ping among them), for statements sent to it directly, without SQLAlchemy's
    statement execution. It goes back to the pool on exit, or is discarded if it raised one of
    :data:`LOST_CONNECTION`."""
    pooled = await engine.raw_connection()
    try:
        yield pooled.driver_connection
    except LOST_CONNECTION:
        await greenlet_spawn(pooled.invalidate)
        raise
    finally:
        await greenlet_spawn(pooled.close)

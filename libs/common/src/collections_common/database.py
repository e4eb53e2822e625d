"""The async SQLAlchemy engine and sessions of a service's own PostgreSQL database."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from collections_common.settings import ServiceSettings

SERVER_SETTINGS = {
    # Statements are prepared and cached per connection. After five runs PostgreSQL may switch a
    # prepared statement to a generic plan chosen without its parameters; planned while a table
    # was still small, a batch lookup (``= ANY(:ids)``, a join on ``unnest``) stays a full scan
    # after the table has grown. Planning each run with its parameters costs far less than that.
    "plan_cache_mode": "force_custom_plan",
}


def create_engine(
    settings: ServiceSettings,
    *,
    pre_ping: bool = True,
    max_overflow: int = 10,
    server_settings: Mapping[str, str] | None = None,
) -> AsyncEngine:
    """The service's engine. ``pre_ping`` checks each connection with a round trip as it leaves
    the pool, so an HTTP request after a database restart does not fail. A worker passes False:
    it retries every transient failure with backoff, and SQLAlchemy drops the pool's older
    connections at the first disconnect it sees, so the check would only cost it round trips.
    Beyond the pool's size, up to ``max_overflow`` more connections are opened when needed and
    closed as they come back. ``server_settings`` override :data:`SERVER_SETTINGS` for this
    engine's connections."""
    return create_async_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=pre_ping,
        connect_args={
            "timeout": 5,
            "server_settings": {
                "application_name": settings.service_name,
                **SERVER_SETTINGS,
                **(server_settings or {}),
            },
        },
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)

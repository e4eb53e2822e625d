"""Alembic for every service: one ``env.py`` body and one upgrade entry point.

Each service keeps its own migration scripts and its own version table
(``<service>_alembic_version``), so several services could even share one database.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


def version_table(service_name: str) -> str:
    return f"{service_name.replace('-', '_')}_alembic_version"


def alembic_config(script_location: Path, database_url: str, service_name: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option("version_table", version_table(service_name))
    return config


def upgrade(script_location: Path, database_url: str, service_name: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision``; safe to call from inside a running event loop."""
    config = alembic_config(script_location, database_url, service_name)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            command.upgrade(config, revision)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=run, name="alembic-upgrade")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def run_env(target_metadata: MetaData) -> None:
    """The body of every service's ``migrations/env.py``."""
    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    table = config.get_main_option("version_table")
    assert url and table, "use collections_common.migrations.upgrade() to run migrations"
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True, version_table=table)
        with context.begin_transaction():
            context.run_migrations()
        return

    def migrate(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=target_metadata, version_table=table)
        with context.begin_transaction():
            context.run_migrations()

    async def online() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(migrate)
            await connection.commit()
        await engine.dispose()

    asyncio.run(online())

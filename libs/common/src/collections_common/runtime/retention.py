"""Retention: what the runtime keeps only for a while is pruned on a schedule.

- ``processed_events`` (the identities a consumer has applied) is kept ``processed_events_keep_hours``
  (default 14 days): longer than any redelivery can come, i.e. at least the topics' retention
  (Kafka's default, 7 days, on every topic of ``deploy/topics.yaml``), so a record still in the log
  that is read again (a rebalance, a consumer reset to the earliest offset) is still recognised.
- published ``outbox`` rows are kept ``outbox_published_keep_hours`` (default 24 h): the event is in
  Kafka by then; the row only serves diagnosis (what was sent, when). Unpublished rows are never
  pruned.

Every service's worker runs a :class:`RetentionPruner` (``collections_common.service``); it sets
``collections_retained_rows`` per table after each pass.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from collections_common.metrics import RETAINED_ROWS, TRANSIENT_FAILURES
from collections_common.runtime._aio import sleep_or_stop
from collections_common.runtime.errors import is_transient
from collections_common.runtime.tables import outbox, processed_events
from collections_common.settings import ServiceSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pruned:
    """Rows one pass deleted and rows kept, per table."""

    deleted: dict[str, int]
    kept: dict[str, int]


class RetentionPruner:
    """A worker component deleting expired ``processed_events`` and published ``outbox`` rows."""

    def __init__(self, engine: AsyncEngine, settings: ServiceSettings) -> None:
        self._engine = engine
        self._settings = settings

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.prune()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                TRANSIENT_FAILURES.labels(self._settings.consumer_group, "retention").inc()
                log.warning("retention paused, will retry: %s", exc)
            await sleep_or_stop(stop, self._settings.retention_interval_seconds)

    async def prune(self, now: datetime | None = None) -> Pruned:
        """Delete what has expired at ``now`` (default: the current time); count what is kept."""
        now = now or datetime.now(UTC)
        settings = self._settings
        async with self._engine.begin() as conn:
            events = await conn.execute(
                delete(processed_events).where(
                    processed_events.c.processed_at
                    < now - timedelta(hours=settings.processed_events_keep_hours)
                )
            )
            published = await conn.execute(
                delete(outbox).where(
                    outbox.c.published_at.is_not(None),
                    outbox.c.published_at < now - timedelta(hours=settings.outbox_published_keep_hours),
                )
            )
        async with self._engine.connect() as conn:
            kept = {
                table.name: int(await conn.scalar(select(func.count()).select_from(table)) or 0)
                for table in (processed_events, outbox)
            }
        for table, rows in kept.items():
            RETAINED_ROWS.labels(table).set(rows)
        deleted = {processed_events.name: events.rowcount, outbox.name: published.rowcount}
        if any(deleted.values()):
            log.info("retention pruned %s", deleted)
        return Pruned(deleted=deleted, kept=kept)

"""A migrated escalation database and a way to apply events through the real handlers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from collections_common.events import decode, validate
from collections_common.runtime import Batch, Outbox
from collections_common.runtime.deliveries import Delivery, Incoming
from collections_common.runtime.tables import outbox
from escalation_service.handlers import handler_for
from escalation_service.settings import EscalationSettings


def incoming(item: dict[str, Any], offset: int = 0) -> Incoming:
    raw = json.dumps(item["event"]).encode()
    delivery = Delivery(topic=item["topic"], partition=0, offset=offset, key=None, value=raw)
    return Incoming(delivery, validate(decode(raw), topic=item["topic"]))


async def apply(engine: AsyncEngine, settings: EscalationSettings, items: Sequence[dict[str, Any]]) -> Batch:
    """Applies ``items`` as one batch, in one transaction, and commits it."""
    async with AsyncSession(engine) as session:
        await session.begin()
        batch = Batch(
            session=session, outbox=Outbox(session), events=[incoming(i, n) for n, i in enumerate(items)]
        )
        await handler_for(settings)(batch)
        await batch.outbox.flush()
        await session.commit()
        return batch


async def emitted(engine: AsyncEngine, event_type: str | None = None) -> list[dict[str, Any]]:
    """The events in the outbox (optionally of one type), oldest first, as JSON."""
    async with engine.connect() as conn:
        rows = await conn.execute(outbox.select().order_by(outbox.c.id))
        events = [json.loads(row.payload) for row in rows if row.event_id is not None]
    return [e for e in events if event_type is None or e["type"] == event_type]


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(text(sql), params)]

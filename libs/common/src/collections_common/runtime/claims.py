"""Identity claims: which events (consumer, source, id) a consumer has applied.

Claiming inserts first (``ON CONFLICT DO NOTHING RETURNING``), so "seen before?" is answered by
the primary key in the statement that records the answer; a claim commits or rolls back with the
batch's effects.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from collections_common.bulk import insert_rows
from collections_common.runtime.deliveries import Incoming
from collections_common.runtime.tables import processed_events

_RELEASE = text(
    "DELETE FROM processed_events p"
    " USING unnest(CAST(:sources AS varchar[]), CAST(:ids AS varchar[])) AS batch(source, event_id)"
    " WHERE p.consumer = :consumer AND p.source = batch.source AND p.event_id = batch.event_id"
)


async def claim(session: AsyncSession, consumer: str, decoded: Sequence[Incoming]) -> list[Incoming]:
    """Record the identities of ``decoded`` as applied by ``consumer``; return the events not
    applied before, each once (a repeat inside the batch is a duplicate too)."""
    if not decoded:
        return []
    identities = [
        {"consumer": consumer, "source": source, "event_id": event_id}
        for source, event_id in (incoming.identity for incoming in decoded)
    ]
    claimed = {
        (row.source, row.event_id)
        for row in await insert_rows(
            session,
            processed_events,
            identities,
            conflict=("consumer", "source", "event_id"),
            returning=("source", "event_id"),
        )
    }
    fresh: list[Incoming] = []
    for incoming in decoded:
        if incoming.identity in claimed:
            claimed.discard(incoming.identity)
            fresh.append(incoming)
    return fresh


async def release(session: AsyncSession, consumer: str, rejected: Sequence[Incoming]) -> None:
    """Forget the claims of events the handler rejected: a replay from the DLQ applies them."""
    if not rejected:
        return
    await session.execute(
        _RELEASE,
        {
            "consumer": consumer,
            "sources": [i.identity[0] for i in rejected],
            "ids": [i.identity[1] for i in rejected],
        },
    )

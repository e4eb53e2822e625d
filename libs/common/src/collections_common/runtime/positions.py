"""Consumer positions in the database: the next offset to read, stored with the work and fenced.

On assignment the runner seeks to these, not to Kafka's committed offsets, so a database restored
from a backup re-reads what it has not applied.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from collections_common.runtime.deliveries import Delivery
from collections_common.runtime.errors import StalePosition
from collections_common.runtime.tables import consumer_positions

_STORE_POSITIONS = text(
    "WITH batch AS ("
    " SELECT * FROM unnest(CAST(:topics AS varchar[]), CAST(:partitions AS integer[]),"
    " CAST(:firsts AS bigint[]), CAST(:nexts AS bigint[])) AS b(topic, partition, first, next))"
    " INSERT INTO consumer_positions AS p (consumer, topic, partition, next_offset)"
    " SELECT :consumer, topic, partition, next FROM batch"
    " ON CONFLICT (consumer, topic, partition) DO UPDATE"
    " SET next_offset = EXCLUDED.next_offset, updated_at = now()"
    " WHERE p.next_offset <= (SELECT first FROM batch"
    " WHERE batch.topic = EXCLUDED.topic AND batch.partition = EXCLUDED.partition)"
    " RETURNING p.topic, p.partition"
)
"""Every partition of a batch moves to its next offset in one statement, each only if its stored
position is not past the batch's first offset there (a stale owner is fenced off)."""


async def stored_positions(db: AsyncSession | AsyncConnection, consumer: str) -> dict[tuple[str, int], int]:
    """The next offset to read of every (topic, partition) ``consumer`` has stored."""
    rows = await db.execute(
        select(
            consumer_positions.c.topic, consumer_positions.c.partition, consumer_positions.c.next_offset
        ).where(consumer_positions.c.consumer == consumer)
    )
    return {(row.topic, row.partition): row.next_offset for row in rows}


async def store_positions(
    session: AsyncSession, consumer: str, deliveries: Sequence[Delivery]
) -> dict[tuple[str, int], int]:
    """Move each partition of ``deliveries`` past its last one; return the new positions.

    Raises :class:`StalePosition` when another owner has already moved a partition past the
    batch's first offset there (the transaction must then roll back).
    """
    first: dict[tuple[str, int], int] = {}
    last: dict[tuple[str, int], int] = {}
    for delivery in deliveries:
        key = (delivery.topic, delivery.partition)
        first.setdefault(key, delivery.offset)
        last[key] = delivery.offset
    keys = list(last)
    moved = {
        (row.topic, row.partition)
        for row in await session.execute(
            _STORE_POSITIONS,
            {
                "consumer": consumer,
                "topics": [topic for topic, _ in keys],
                "partitions": [partition for _, partition in keys],
                "firsts": [first[key] for key in keys],
                "nexts": [last[key] + 1 for key in keys],
            },
        )
    }
    for key in keys:
        if key not in moved:
            raise StalePosition(f"{key[0]}[{key[1]}] is past offset {first[key]}")
    return {key: last[key] + 1 for key in keys}

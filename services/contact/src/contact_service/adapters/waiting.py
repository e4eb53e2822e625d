"""Stage changes waiting for their account's opening (``stage_changes.apply_stage_changes``)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import String, any_, bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from collections_common.events import StageChanged, parse
from collections_common.runtime import Delivery, Incoming
from contact_service.adapters.orm import waiting_stage_changes as waiting

__all__ = ["WaitingStageChanges"]


class WaitingStageChanges:
    """Every SQL statement about the stage changes kept until their account is opened."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def keep(self, events: Sequence[Incoming]) -> None:
        """Keep these stage changes, as consumed (a change kept already stays as it is)."""
        if not events:
            return
        rows = []
        for incoming in events:
            data = incoming.event.data
            assert isinstance(data, StageChanged)
            delivery = incoming.delivery
            source, event_id = incoming.identity
            rows.append(
                {
                    "source": source,
                    "event_id": event_id,
                    "account_id": data.account_id,
                    "topic": delivery.topic,
                    "partition": delivery.partition,
                    "offset": delivery.offset,
                    "key": delivery.key,
                    "value": delivery.value,
                    "timestamp_ms": delivery.timestamp,
                    "timestamp_type": delivery.timestamp_type,
                }
            )
        await self.session.execute(insert(waiting).values(rows).on_conflict_do_nothing())

    async def take(self, account_ids: Collection[str]) -> dict[str, list[Incoming]]:
        """Remove the stage changes kept for these accounts, in one statement, and return each
        account's in the order they were received (topic, partition, offset), by account (those
        with none left out). Their deliveries have no headers: none is kept."""
        if not account_ids:
            return {}
        result = await self.session.execute(
            delete(waiting)
            .where(waiting.c.account_id == any_(bindparam("accounts", type_=ARRAY(String))))
            .returning(
                waiting.c.account_id,
                waiting.c.topic,
                waiting.c.partition,
                waiting.c.offset,
                waiting.c.key,
                waiting.c.value,
                waiting.c.timestamp_ms,
                waiting.c.timestamp_type,
            ),
            {"accounts": sorted(set(account_ids))},
        )
        deliveries: dict[str, list[Delivery]] = {}
        for r in result:
            deliveries.setdefault(r.account_id, []).append(
                Delivery(
                    topic=r.topic,
                    partition=r.partition,
                    offset=r.offset,
                    key=r.key,
                    value=r.value,
                    timestamp=r.timestamp_ms,
                    timestamp_type=r.timestamp_type,
                )
            )
        return {
            account_id: [
                Incoming(d, parse(d.value, topic=d.topic))
                for d in sorted(kept, key=lambda d: (d.topic, d.partition, d.offset))
            ]
            for account_id, kept in deliveries.items()
        }

    async def count(self) -> int:
        counted = await self.session.execute(select(func.count()).select_from(waiting))
        return int(counted.scalar_one())

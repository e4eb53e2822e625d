"""The agency registry copy, placements and bureau flags.

Placing is serialised per agency: ``lock_agencies`` takes ``SELECT ... FOR UPDATE`` on the
agency rows, in agency id order (so two placements never wait on each other in a cycle), before
the active placements are counted. A concurrent placement waits for the lock and then counts,
in a new statement, what the first one committed: capacity is never exceeded.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from escalation_service.adapters.orm import agencies, bureau_flags, placements
from escalation_service.adapters.pages import page
from escalation_service.domain.placement import Agency, PlacementRecord

__all__ = ["Agencies", "BureauFlags", "Placements"]


def _agency(row: Any) -> Agency:
    return Agency(
        agency_id=row.agency_id,
        regions=frozenset(row.regions),
        capacity=row.capacity,
        active=row.active,
        contract_start=row.contract_start,
        contract_end=row.contract_end,
        review_due=row.review_due,
    )


def _placement(row: Any) -> PlacementRecord:
    return PlacementRecord(
        placement_id=row.placement_id,
        agency_id=row.agency_id,
        customer_id=row.customer_id,
        placed_on=row.placed_on,
        ends_on=row.ends_on,
        past_due_at_placement_minor=row.past_due_at_placement_minor,
        recalled_on=row.recalled_on,
    )


class Agencies:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(
        self,
        *,
        agency_id: str,
        name: str,
        regions: Iterable[str],
        capacity: int,
        active: bool,
        contract_start: date,
        contract_end: date,
        review_due: date,
        event_id: str,
    ) -> None:
        values = {
            "name": name,
            "regions": sorted(set(regions)),
            "capacity": capacity,
            "active": active,
            "contract_start": contract_start,
            "contract_end": contract_end,
            "review_due": review_due,
            "event_id": event_id,
        }
        statement = insert(agencies).values(agency_id=agency_id, **values)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[agencies.c.agency_id], set_={**values, "updated_at": func.now()}
            )
        )

    async def lock_all(self) -> list[Agency]:
        """Every agency, each row locked until the transaction ends (agency id order)."""
        rows = await self.session.execute(select(agencies).order_by(agencies.c.agency_id).with_for_update())
        return [_agency(row) for row in rows]

    async def all(self) -> list[Any]:
        return list(await self.session.execute(select(agencies).order_by(agencies.c.agency_id)))


class Placements:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active_counts(self, today: date) -> dict[str, int]:
        """Placements each agency holds on ``today`` (not recalled, not past their end)."""
        rows = await self.session.execute(
            select(placements.c.agency_id, func.count().label("n"))
            .where(placements.c.recalled_on.is_(None), placements.c.ends_on > today)
            .group_by(placements.c.agency_id)
        )
        return {row.agency_id: row.n for row in rows}

    async def active_per_agency(self) -> dict[str, int]:
        rows = await self.session.execute(
            select(placements.c.agency_id, func.count().label("n"))
            .where(placements.c.recalled_on.is_(None))
            .group_by(placements.c.agency_id)
        )
        return {row.agency_id: row.n for row in rows}

    async def since(self, placed_after: date) -> list[PlacementRecord]:
        rows = await self.session.execute(select(placements).where(placements.c.placed_on > placed_after))
        return [_placement(row) for row in rows]

    async def add(
        self,
        *,
        placement_id: str,
        decision_key: str,
        rule_id: str,
        agency_id: str,
        customer_id: str,
        account_id: str,
        placed_on: date,
        ends_on: date,
        past_due_at_placement_minor: int,
        currency: str,
    ) -> None:
        await self.session.execute(
            insert(placements).values(
                placement_id=placement_id,
                decision_key=decision_key,
                rule_id=rule_id,
                agency_id=agency_id,
                customer_id=customer_id,
                account_id=account_id,
                placed_on=placed_on,
                ends_on=ends_on,
                past_due_at_placement_minor=past_due_at_placement_minor,
                currency=currency,
            )
        )

    async def active_of(self, customer_id: str, *, lock: bool = False) -> Any | None:
        query = select(placements).where(
            placements.c.customer_id == customer_id, placements.c.recalled_on.is_(None)
        )
        if lock:
            query = query.with_for_update()
        return (await self.session.execute(query)).first()

    async def get(self, placement_id: str, *, lock: bool = False) -> Any | None:
        query = select(placements).where(placements.c.placement_id == placement_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.execute(query)).first()

    async def record(self, row: Any) -> PlacementRecord:
        return _placement(row)

    async def mark_recalled(self, placement_id: str, *, on: date, reason: str, by: str) -> None:
        await self.session.execute(
            update(placements)
            .where(placements.c.placement_id == placement_id, placements.c.recalled_on.is_(None))
            .values(recalled_on=on, recall_reason=reason, recalled_by=by)
        )

    async def due_to_expire(self, today: date) -> list[Any]:
        return list(
            await self.session.execute(
                select(placements)
                .where(placements.c.recalled_on.is_(None), placements.c.ends_on <= today)
                .order_by(placements.c.seq)
                .with_for_update(skip_locked=True)
            )
        )

    async def page(
        self,
        *,
        active: bool | None,
        agency_id: str | None,
        customer_id: str | None,
        before: int | None,
        limit: int,
    ) -> tuple[list[Any], int | None]:
        where: list[ColumnElement[bool]] = []
        if active is True:
            where.append(placements.c.recalled_on.is_(None))
        elif active is False:
            where.append(placements.c.recalled_on.is_not(None))
        if agency_id is not None:
            where.append(placements.c.agency_id == agency_id)
        if customer_id is not None:
            where.append(placements.c.customer_id == customer_id)
        return await page(self.session, placements, where=where, before=before, limit=limit)


class BureauFlags:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def flag(
        self, *, decision_key: str, rule_id: str, account_id: str, customer_id: str, on: date
    ) -> None:
        await self.session.execute(
            insert(bureau_flags)
            .values(
                decision_key=decision_key,
                rule_id=rule_id,
                account_id=account_id,
                customer_id=customer_id,
                flagged_on=on,
            )
            .on_conflict_do_nothing()
        )

    async def clear(self, decision_key: str, *, on: date, rule_id: str) -> bool:
        """Clears the flag; ``False`` if it was not set or already cleared."""
        result = await self.session.execute(
            update(bureau_flags)
            .where(bureau_flags.c.decision_key == decision_key, bureau_flags.c.cleared_on.is_(None))
            .values(cleared_on=on, cleared_by_rule=rule_id)
            .returning(bureau_flags.c.decision_key)
        )
        return result.first() is not None

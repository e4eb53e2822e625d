"""Placed cases, their accounts' figures, permits and reported activities: all their SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from agency_gateway.adapters.orm import activities, permits, placement_accounts, placements
from agency_gateway.domain.activities import PermitOnFile
from collections_common.events.escalation import CasePlaced

PLACED = "placed"
RECALLED = "recalled"
RETURNED = "returned"
REFUSED = "refused"


@dataclass(frozen=True)
class PlacedCase:
    placement_id: str
    case_id: str
    agency_id: str
    account_id: str
    customer_id: str
    status: str
    placed_on: date
    ends_on: date
    stage: str
    dpd: int
    past_due_minor: int
    currency: str
    debtor: dict[str, Any]
    sequence: int
    changed_at: datetime


@dataclass(frozen=True)
class AccountFigures:
    account_id: str
    stage: str
    dpd: int
    past_due_minor: int
    currency: str


_CASE_COLUMNS = (
    placements.c.placement_id,
    placements.c.case_id,
    placements.c.agency_id,
    placements.c.account_id,
    placements.c.customer_id,
    placements.c.status,
    placements.c.placed_on,
    placements.c.ends_on,
    placements.c.stage,
    placements.c.dpd,
    placements.c.past_due_minor,
    placements.c.currency,
    placements.c.debtor,
    placements.c.sequence,
    placements.c.changed_at,
)


def _case(row: Any) -> PlacedCase:
    return PlacedCase(
        placement_id=row.placement_id,
        case_id=row.case_id,
        agency_id=row.agency_id,
        account_id=row.account_id,
        customer_id=row.customer_id,
        status=row.status,
        placed_on=row.placed_on,
        ends_on=row.ends_on,
        stage=row.stage,
        dpd=row.dpd,
        past_due_minor=row.past_due_minor,
        currency=row.currency,
        debtor=row.debtor,
        sequence=row.sequence,
        changed_at=row.changed_at,
    )


class Placements:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, placed: CasePlaced, *, status: str, sequence: int) -> bool:
        """Record a placement (with its accounts); False if it is already recorded."""
        statement = (
            pg_insert(placements)
            .values(
                placement_id=placed.placement_id,
                case_id=placed.case_id,
                agency_id=placed.agency_id,
                account_id=placed.account_id,
                customer_id=placed.customer_id,
                status=status,
                placed_on=placed.placed_on,
                ends_on=placed.ends_on,
                stage=placed.stage,
                dpd=placed.dpd,
                past_due_minor=placed.past_due_minor,
                currency=placed.currency,
                debtor=placed.debtor.model_dump(mode="json"),
                sequence=sequence,
            )
            .on_conflict_do_nothing(index_elements=[placements.c.placement_id])
            .returning(placements.c.placement_id)
        )
        if (await self.session.execute(statement)).first() is None:
            return False
        await self.session.execute(
            insert(placement_accounts),
            [
                {
                    "placement_id": placed.placement_id,
                    "account_id": account.account_id,
                    "stage": account.stage,
                    "dpd": account.dpd,
                    "past_due_minor": account.past_due_minor,
                    "currency": account.currency,
                }
                for account in placed.accounts
            ],
        )
        return True

    async def get(self, placement_id: str) -> PlacedCase | None:
        row = (
            await self.session.execute(
                select(*_CASE_COLUMNS).where(placements.c.placement_id == placement_id)
            )
        ).first()
        return None if row is None else _case(row)

    async def active_of_case(self, case_id: str) -> list[PlacedCase]:
        query = select(*_CASE_COLUMNS).where(placements.c.case_id == case_id, placements.c.status == PLACED)
        return [_case(row) for row in await self.session.execute(query)]

    async def end(self, placement_id: str, *, status: str, reason: str, sequence: int | None = None) -> bool:
        """End an active placement (its agency loses access at once); False if it was not active."""
        values: dict[str, Any] = {"status": status, "end_reason": reason, "ended_at": func.now()}
        if sequence is not None:
            values |= {"sequence": sequence, "changed_at": func.now()}
        statement = (
            update(placements)
            .where(placements.c.placement_id == placement_id, placements.c.status == PLACED)
            .values(**values)
            .returning(placements.c.placement_id)
        )
        return (await self.session.execute(statement)).first() is not None

    async def visible(self, agency_id: str, case_id: str, *, for_update: bool = False) -> PlacedCase | None:
        """The case while it is placed with ``agency_id``; None otherwise (whatever the reason)."""
        query = select(*_CASE_COLUMNS).where(
            placements.c.agency_id == agency_id,
            placements.c.case_id == case_id,
            placements.c.status == PLACED,
        )
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return None if row is None else _case(row)

    async def changed_since(self, agency_id: str, after: int, limit: int) -> list[PlacedCase]:
        """The agency's placed cases whose last change has a sequence above ``after``, in order."""
        query = (
            select(*_CASE_COLUMNS)
            .where(
                placements.c.agency_id == agency_id,
                placements.c.sequence > after,
                placements.c.status == PLACED,
            )
            .order_by(placements.c.sequence)
            .limit(limit)
        )
        return [_case(row) for row in await self.session.execute(query)]

    async def active_with_account(self, account_id: str) -> list[tuple[str, str]]:
        """(placement_id, agency_id) of the active placements holding ``account_id``."""
        query = (
            select(placements.c.placement_id, placements.c.agency_id)
            .join(placement_accounts, placement_accounts.c.placement_id == placements.c.placement_id)
            .where(placement_accounts.c.account_id == account_id, placements.c.status == PLACED)
            .order_by(placements.c.agency_id, placements.c.placement_id)
        )
        return [(row.placement_id, row.agency_id) for row in await self.session.execute(query)]

    async def update_figures(
        self, placement_id: str, figures: AccountFigures, as_of: date, *, sequence: int
    ) -> bool:
        """Apply an account's current figures unless newer ones are held; then the case's totals
        (worst stage, highest DPD, summed past due) and its change sequence. False if nothing changed."""
        changed = (
            await self.session.execute(
                update(placement_accounts)
                .where(
                    placement_accounts.c.placement_id == placement_id,
                    placement_accounts.c.account_id == figures.account_id,
                    (placement_accounts.c.as_of.is_(None)) | (placement_accounts.c.as_of <= as_of),
                )
                .values(
                    stage=figures.stage, dpd=figures.dpd, past_due_minor=figures.past_due_minor, as_of=as_of
                )
                .returning(placement_accounts.c.account_id)
            )
        ).first()
        if changed is None:
            return False
        accounts = placement_accounts.alias("accounts")
        worst = (
            select(accounts.c.stage)
            .where(accounts.c.placement_id == placement_id)
            .order_by(accounts.c.dpd.desc(), accounts.c.account_id)
            .limit(1)
            .scalar_subquery()
        )
        totals = select(
            func.max(accounts.c.dpd).label("dpd"), func.sum(accounts.c.past_due_minor).label("past_due")
        ).where(accounts.c.placement_id == placement_id)
        row = (await self.session.execute(totals)).one()
        await self.session.execute(
            update(placements)
            .where(placements.c.placement_id == placement_id)
            .values(
                stage=worst,
                dpd=int(row.dpd),
                past_due_minor=int(row.past_due),
                sequence=sequence,
                changed_at=func.now(),
            )
        )
        return True


class Permits:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        permit_id: str | None,
        agency_id: str,
        client_id: str,
        placement_id: str,
        channel: str,
        allowed: bool,
        rule: str | None,
        requested_at: datetime,
        expires_at: datetime | None,
    ) -> None:
        await self.session.execute(
            insert(permits).values(
                permit_id=permit_id,
                agency_id=agency_id,
                client_id=client_id,
                placement_id=placement_id,
                channel=channel,
                allowed=allowed,
                rule=rule,
                requested_at=requested_at,
                expires_at=expires_at,
            )
        )

    async def on_placement(self, permit_id: str, placement_id: str) -> PermitOnFile | None:
        row = (
            await self.session.execute(
                select(
                    permits.c.permit_id,
                    permits.c.channel,
                    permits.c.allowed,
                    permits.c.requested_at,
                    permits.c.expires_at,
                )
                .where(permits.c.permit_id == permit_id, permits.c.placement_id == placement_id)
                .limit(1)
            )
        ).first()
        if row is None:
            return None
        return PermitOnFile(row.permit_id, row.channel, row.allowed, row.requested_at, row.expires_at)


class Activities:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, **values: Any) -> None:
        await self.session.execute(insert(activities).values(**values))

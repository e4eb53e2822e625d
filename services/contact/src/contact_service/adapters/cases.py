"""Cases per debtor: load a domain ``Case`` from its rows and store it back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from contact_service.adapters.orm import case_accounts, cases, contact_points, holds
from contact_service.domain.case import CORE_BANKING, AccountStage, Case, Profile
from contact_service.domain.compliance import Hold, lock_key
from contact_service.domain.contact import ContactPoint, Owner

__all__ = ["AccountRow", "CaseRecord", "CaseRepository", "HoldRow"]


@dataclass(frozen=True, slots=True)
class CaseRecord:
    """A case and what the service keeps beside the domain's view of it."""

    case: Case
    stage: str
    stage_entered_at: datetime | None
    unreachable: bool
    exists: bool


@dataclass(frozen=True, slots=True)
class AccountRow:
    """An account of a case as stored."""

    account_id: str
    currency: str | None
    stage: str | None
    dpd: int
    past_due_minor: int
    stage_as_of: date | None
    flags: dict[str, bool]


@dataclass(frozen=True, slots=True)
class HoldRow:
    """A hold as stored."""

    hold_id: str
    account_id: str
    reason: str
    starts_on: date | None
    ends_on: date
    set_by: str
    set_at: datetime
    ended_on: date | None
    ended_by: str | None


class CaseRepository:
    """Every SQL statement about cases, their accounts, contact points and holds."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self, customer_id: str) -> None:
        """Serialise every decision about this debtor until the transaction ends."""
        await self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(customer_id)})

    async def customer_of(self, account_id: str) -> str | None:
        row = await self.session.execute(
            select(case_accounts.c.customer_id).where(case_accounts.c.account_id == account_id)
        )
        return row.scalar_one_or_none()

    async def currency_of(self, account_id: str) -> str | None:
        row = await self.session.execute(
            select(case_accounts.c.currency).where(case_accounts.c.account_id == account_id)
        )
        return row.scalar_one_or_none()

    async def link_account(self, account_id: str, customer_id: str, currency: str | None) -> None:
        """Record whose account it is (first writer wins; a currency fills in once)."""
        stmt = insert(case_accounts).values(account_id=account_id, customer_id=customer_id, currency=currency)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[case_accounts.c.account_id],
                set_={"currency": func.coalesce(case_accounts.c.currency, stmt.excluded.currency)},
            )
        )
        await self.session.execute(
            insert(cases)
            .values(customer_id=customer_id)
            .on_conflict_do_nothing(index_elements=[cases.c.customer_id])
        )

    async def load(self, customer_id: str) -> CaseRecord:
        row = (await self.session.execute(select(cases).where(cases.c.customer_id == customer_id))).first()
        accounts = await self.accounts(customer_id)
        points = await self.contact_points(customer_id)
        active = await self.holds(customer_id, active_only=True)
        profile = Profile()
        if row is not None:
            profile = Profile(
                timezone=row.timezone,
                language=row.language,
                contact_points=tuple(points),
                consents=dict(row.consents),
                risk_rating=row.risk_rating,
                signals=frozenset(row.signals),
                as_of=row.profile_as_of,
            )
        case = Case(
            customer_id=customer_id,
            accounts={
                a.account_id: AccountStage(a.stage, a.dpd, a.past_due_minor, a.currency or "", a.stage_as_of)
                for a in accounts
                if a.stage is not None and a.stage_as_of is not None
            },
            account_flags={a.account_id: a.flags for a in accounts},
            profile=profile,
            holds=tuple(Hold(h.reason, h.ends_on, h.starts_on) for h in active),
        )
        return CaseRecord(
            case=case,
            stage=row.stage if row is not None else case.stages[0],
            stage_entered_at=row.stage_entered_at if row is not None else None,
            unreachable=bool(row.unreachable) if row is not None else False,
            exists=row is not None,
        )

    async def save(self, case: Case, *, stage_entered_at: datetime | None = None) -> None:
        """Store the case's profile, rolled-up stage and accounts; core banking's points replaced."""
        profile = case.profile
        values: dict[str, Any] = {
            "stage": case.stage,
            "timezone": profile.timezone,
            "language": profile.language,
            "consents": dict(profile.consents),
            "risk_rating": profile.risk_rating,
            "signals": sorted(profile.signals),
            "profile_as_of": profile.as_of,
            "updated_at": func.now(),
        }
        if stage_entered_at is not None:
            values["stage_entered_at"] = stage_entered_at
        stmt = insert(cases).values(customer_id=case.customer_id, **values)
        await self.session.execute(
            stmt.on_conflict_do_update(index_elements=[cases.c.customer_id], set_=values)
        )
        for account_id, flags in case.account_flags.items():
            await self.session.execute(
                update(case_accounts)
                .where(case_accounts.c.account_id == account_id)
                .values(flags=dict(flags))
            )
        for account_id, account in case.accounts.items():
            await self.session.execute(
                update(case_accounts)
                .where(case_accounts.c.account_id == account_id)
                .values(
                    stage=account.stage,
                    dpd=account.dpd,
                    past_due_minor=account.past_due_minor,
                    stage_as_of=account.as_of,
                )
            )
        core = [p for p in profile.contact_points if p.owner is Owner.DEBTOR and p.source == CORE_BANKING]
        await self.session.execute(
            delete(contact_points).where(
                contact_points.c.customer_id == case.customer_id,
                contact_points.c.owner == Owner.DEBTOR.value,
                contact_points.c.source == CORE_BANKING,
                contact_points.c.value.not_in([p.value for p in core]),
            )
        )
        for point in core:
            await self.add_contact_point(case.customer_id, point, added_by=None)

    async def set_unreachable(self, customer_id: str, unreachable: bool) -> None:
        await self.session.execute(
            update(cases).where(cases.c.customer_id == customer_id).values(unreachable=unreachable)
        )

    async def accounts(self, customer_id: str) -> list[AccountRow]:
        rows = await self.session.execute(
            select(case_accounts)
            .where(case_accounts.c.customer_id == customer_id)
            .order_by(case_accounts.c.account_id)
        )
        return [
            AccountRow(
                account_id=r.account_id,
                currency=r.currency,
                stage=r.stage,
                dpd=r.dpd,
                past_due_minor=r.past_due_minor,
                stage_as_of=r.stage_as_of,
                flags=dict(r.flags),
            )
            for r in rows
        ]

    async def contact_points(self, customer_id: str) -> list[ContactPoint]:
        rows = await self.session.execute(
            select(contact_points.c.value, contact_points.c.owner, contact_points.c.source)
            .where(contact_points.c.customer_id == customer_id)
            .order_by(contact_points.c.id)
        )
        return [ContactPoint(r.value, Owner(r.owner), r.source) for r in rows]

    async def add_contact_point(self, customer_id: str, point: ContactPoint, *, added_by: str | None) -> bool:
        """Add a point; False when the debtor already has it for that owner."""
        result = await self.session.execute(
            insert(contact_points)
            .values(
                customer_id=customer_id,
                value=point.value,
                owner=point.owner.value,
                source=point.source,
                added_by=added_by,
            )
            .on_conflict_do_nothing(constraint="contact_points_unique")
            .returning(contact_points.c.id)
        )
        return result.first() is not None

    async def holds(self, customer_id: str, *, active_only: bool = False) -> list[HoldRow]:
        query = select(holds).where(holds.c.customer_id == customer_id)
        if active_only:
            query = query.where(holds.c.ended_on.is_(None))
        rows = await self.session.execute(query.order_by(holds.c.set_at, holds.c.hold_id))
        return [_hold(r) for r in rows]

    async def hold(self, hold_id: str) -> HoldRow | None:
        row = (await self.session.execute(select(holds).where(holds.c.hold_id == hold_id))).first()
        return _hold(row) if row is not None else None

    async def add_hold(self, customer_id: str, row: HoldRow) -> None:
        await self.session.execute(
            insert(holds).values(
                hold_id=row.hold_id,
                customer_id=customer_id,
                account_id=row.account_id,
                reason=row.reason,
                starts_on=row.starts_on,
                ends_on=row.ends_on,
                set_by=row.set_by,
                set_at=row.set_at,
            )
        )

    async def end_hold(self, hold_id: str, ended_on: date, ended_by: str) -> None:
        await self.session.execute(
            update(holds).where(holds.c.hold_id == hold_id).values(ended_on=ended_on, ended_by=ended_by)
        )

    async def lapsed_holds(self, through: date) -> Sequence[tuple[str, HoldRow]]:
        """Active holds whose end date is before ``through``, with their debtor."""
        rows = await self.session.execute(
            select(holds).where(and_(holds.c.ended_on.is_(None), holds.c.ends_on < through)).with_for_update()
        )
        return [(r.customer_id, _hold(r)) for r in rows]


def _hold(r: Any) -> HoldRow:
    return HoldRow(
        hold_id=r.hold_id,
        account_id=r.account_id,
        reason=r.reason,
        starts_on=r.starts_on,
        ends_on=r.ends_on,
        set_by=r.set_by,
        set_at=r.set_at,
        ended_on=r.ended_on,
        ended_by=r.ended_by,
    )

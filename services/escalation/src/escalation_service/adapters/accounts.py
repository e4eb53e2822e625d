"""Accounts and debtors as escalation knows them, the facts it keeps, and the business clock."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from escalation_service.adapters.orm import (
    accounts,
    business_clock,
    contact_facts,
    debtors,
    payments,
    stage_changes_seen,
)
from escalation_service.domain.episodes import Episode

__all__ = ["AccountRecord", "Accounts", "BusinessClock", "ContactFacts", "Payments"]


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """One account's row."""

    account_id: str
    customer_id: str | None
    holder_name: str | None
    national_id_last4: str | None
    phones: tuple[str, ...]
    email: str | None
    address: Mapping[str, Any] | None
    region: str | None
    language: str | None
    flags: frozenset[str]
    signals: frozenset[str]
    stage: str | None
    dpd: int
    past_due_minor: int
    currency: str | None
    oldest_unpaid_due_date: date | None
    as_of: date | None
    episode: Episode

    @property
    def address_known(self) -> bool:
        """A postal address a letter or a visit can go to."""
        return bool(self.address and (self.address.get("line1") or self.address.get("city")))


def _record(row: Any) -> AccountRecord:
    return AccountRecord(
        account_id=row.account_id,
        customer_id=row.customer_id,
        holder_name=row.holder_name,
        national_id_last4=row.national_id_last4,
        phones=tuple(row.phones or ()),
        email=row.email,
        address=row.address,
        region=row.region,
        language=row.language,
        flags=frozenset(row.flags or ()),
        signals=frozenset(row.signals or ()),
        stage=row.stage,
        dpd=row.dpd,
        past_due_minor=row.past_due_minor,
        currency=row.currency,
        oldest_unpaid_due_date=row.oldest_unpaid_due_date,
        as_of=row.as_of,
        episode=Episode(row.episode_number, row.episode_open, row.episode_reached),
    )


class Accounts:
    """The ``accounts``, ``debtors`` and ``stage_changes_seen`` tables."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_debtor(self, customer_id: str) -> None:
        """Serialise, until the transaction ends, every change to one debtor's episode and actions."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"escalation:debtor:{customer_id}"}
        )

    async def get(self, account_id: str) -> AccountRecord | None:
        row = (
            await self.session.execute(select(accounts).where(accounts.c.account_id == account_id))
        ).first()
        return None if row is None else _record(row)

    async def of_debtor(self, customer_id: str) -> list[AccountRecord]:
        rows = await self.session.execute(
            select(accounts).where(accounts.c.customer_id == customer_id).order_by(accounts.c.account_id)
        )
        return [_record(row) for row in rows]

    async def upsert_holder(self, account_id: str, values: Mapping[str, Any]) -> None:
        """Creates the account or changes the given columns (holder, customer, flags, signals)."""
        statement = insert(accounts).values(account_id=account_id, **values)
        changes: dict[str, Any] = {name: statement.excluded[name] for name in values}
        changes["updated_at"] = func.now()
        await self.session.execute(
            statement.on_conflict_do_update(index_elements=[accounts.c.account_id], set_=changes)
        )

    async def save_stage(
        self,
        account_id: str,
        *,
        customer_id: str,
        stage: str,
        dpd: int,
        past_due_minor: int,
        currency: str,
        oldest_unpaid_due_date: date | None,
        as_of: date,
        episode: Episode,
    ) -> None:
        values = {
            "customer_id": customer_id,
            "stage": stage,
            "dpd": dpd,
            "past_due_minor": past_due_minor,
            "currency": currency,
            "oldest_unpaid_due_date": oldest_unpaid_due_date,
            "as_of": as_of,
            "episode_number": episode.number,
            "episode_open": episode.open,
            "episode_reached": episode.reached,
        }
        await self.upsert_holder(account_id, values)

    async def debtor_episode(self, customer_id: str) -> Episode:
        row = (
            await self.session.execute(select(debtors).where(debtors.c.customer_id == customer_id))
        ).first()
        return (
            Episode() if row is None else Episode(row.episode_number, row.episode_open, row.episode_reached)
        )

    async def save_debtor_episode(self, customer_id: str, episode: Episode) -> None:
        values = {
            "episode_number": episode.number,
            "episode_open": episode.open,
            "episode_reached": episode.reached,
        }
        statement = insert(debtors).values(customer_id=customer_id, **values)
        await self.session.execute(
            statement.on_conflict_do_update(index_elements=[debtors.c.customer_id], set_=values)
        )

    async def first_sight_of_change(
        self,
        *,
        account_id: str,
        cause_event_id: str,
        from_stage: str,
        to_stage: str,
        as_of: date,
        event_id: str,
    ) -> bool:
        """Records a stage change's facts; ``False`` if the same change was applied before (under
        any event id)."""
        statement = (
            insert(stage_changes_seen)
            .values(
                account_id=account_id,
                cause_event_id=cause_event_id,
                from_stage=from_stage,
                to_stage=to_stage,
                as_of=as_of,
                event_id=event_id,
            )
            .on_conflict_do_nothing()
            .returning(stage_changes_seen.c.account_id)
        )
        return (await self.session.execute(statement)).first() is not None


class Payments:
    """Payments seen on ``corebank.payments.v1``, for agencies' recovery rates."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self,
        *,
        account_id: str,
        payment_id: str,
        customer_id: str | None,
        amount_minor: int,
        value_date: date,
    ) -> None:
        await self.session.execute(
            insert(payments)
            .values(
                account_id=account_id,
                payment_id=payment_id,
                customer_id=customer_id,
                amount_minor=amount_minor,
                value_date=value_date,
            )
            .on_conflict_do_nothing()
        )

    async def reverse(self, *, account_id: str, payment_id: str) -> None:
        await self.session.execute(
            update(payments)
            .where(payments.c.account_id == account_id, payments.c.payment_id == payment_id)
            .values(reversed=True)
        )

    async def of_debtors(self, customer_ids: Iterable[str], since: date) -> list[tuple[str, date, int]]:
        """(customer_id, value_date, amount_minor) of the debtors' payments not reversed, from ``since``."""
        ids = sorted(set(customer_ids))
        if not ids:
            return []
        rows = await self.session.execute(
            select(payments.c.customer_id, payments.c.value_date, payments.c.amount_minor).where(
                payments.c.customer_id.in_(ids),
                payments.c.value_date >= since,
                payments.c.reversed.is_(False),
            )
        )
        return [(row.customer_id, row.value_date, row.amount_minor) for row in rows]

    async def of_account(self, account_id: str, since: date) -> list[tuple[date, int]]:
        """(value_date, amount_minor) of the account's payments not reversed, from ``since``."""
        rows = await self.session.execute(
            select(payments.c.value_date, payments.c.amount_minor).where(
                payments.c.account_id == account_id,
                payments.c.value_date >= since,
                payments.c.reversed.is_(False),
            )
        )
        return [(row.value_date, row.amount_minor) for row in rows]


class ContactFacts:
    """Contact outcomes kept as facts (promises broken, complaints, holds...)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self, *, event_id: str, account_id: str, customer_id: str, kind: str, at: datetime | None, detail: Any
    ) -> None:
        await self.session.execute(
            insert(contact_facts)
            .values(
                event_id=event_id,
                account_id=account_id,
                customer_id=customer_id,
                kind=kind,
                at=at,
                detail=detail,
            )
            .on_conflict_do_nothing()
        )

    async def count(self, account_id: str, kind: str) -> int:
        total = await self.session.scalar(
            select(func.count())
            .select_from(contact_facts)
            .where(contact_facts.c.account_id == account_id, contact_facts.c.kind == kind)
        )
        return int(total or 0)


class BusinessClock:
    """The last business day core banking closed; escalation's "today" is the day after it."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def close(self, business_date: date) -> None:
        statement = insert(business_clock).values(id=1, closed_through=business_date)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[business_clock.c.id],
                set_={"closed_through": statement.excluded.closed_through},
                where=business_clock.c.closed_through < statement.excluded.closed_through,
            )
        )

    async def today(self) -> date:
        """The day after the last close, or the UTC calendar date before any close."""
        closed = await self.session.scalar(select(business_clock.c.closed_through))
        return datetime.now(UTC).date() if closed is None else closed + timedelta(days=1)

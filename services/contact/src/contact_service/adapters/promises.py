"""Payments (and their reversals) and promises to pay."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from contact_service.adapters.orm import payments, promise_closes, promises
from contact_service.domain.promises import Payment, Promise

__all__ = ["PromiseRepository", "PromiseRow"]

_RECORD_PAYMENTS = text(
    f"INSERT INTO {payments.name} (account_id, payment_id, amount_minor, currency, value_date, log_time_ms)"
    " SELECT * FROM unnest(CAST(:accounts AS varchar[]), CAST(:payments AS varchar[]),"
    " CAST(:amounts AS bigint[]), CAST(:currencies AS varchar[]), CAST(:value_dates AS date[]),"
    " CAST(:log_times AS bigint[]))"
    " ON CONFLICT (account_id, payment_id) DO UPDATE SET amount_minor = EXCLUDED.amount_minor,"
    " currency = EXCLUDED.currency, value_date = EXCLUDED.value_date, log_time_ms = EXCLUDED.log_time_ms"
    f" WHERE {payments.name}.amount_minor IS NULL"
)


@dataclass(frozen=True, slots=True)
class PromiseRow:
    """A stored promise."""

    promise: Promise
    customer_id: str
    status: str
    paid_minor: int
    party_kind: str
    party_id: str | None
    made_at: datetime
    made_by: str | None
    permit_id: str | None


class PromiseRepository:
    """Every SQL statement about payments and promises."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record_payments(self, posted: Sequence[tuple[str, str, int, str, date, int]]) -> None:
        """Store each (account, payment, amount, currency, value date, broker timestamp), in order,
        in one statement: a repeat within them changes nothing, as a repeat later does, and a
        payment whose reversal came first stays reversed."""
        first: dict[tuple[str, str], tuple[int, str, date, int]] = {}
        for account_id, payment_id, amount_minor, currency, value_date, log_time_ms in posted:
            first.setdefault((account_id, payment_id), (amount_minor, currency, value_date, log_time_ms))
        if first:
            values = list(first.values())
            await self.session.execute(
                _RECORD_PAYMENTS,
                {
                    "accounts": [account_id for account_id, _ in first],
                    "payments": [payment_id for _, payment_id in first],
                    "amounts": [v[0] for v in values],
                    "currencies": [v[1] for v in values],
                    "value_dates": [v[2] for v in values],
                    "log_times": [v[3] for v in values],
                },
            )

    async def record_reversal(self, account_id: str, payment_id: str) -> date | None:
        """Mark the payment reversed (before it arrives, too); returns its value date when known."""
        stmt = pg_insert(payments).values(account_id=account_id, payment_id=payment_id, reversed=True)
        result = await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[payments.c.account_id, payments.c.payment_id], set_={"reversed": True}
            ).returning(payments.c.value_date)
        )
        value_date: date | None = result.scalar_one_or_none()
        return value_date

    async def payments_of(self, account_id: str, *, published_by_ms: int | None = None) -> list[Payment]:
        """The account's payments; with ``published_by_ms``, only those the broker stamped by then."""
        query = select(payments).where(
            payments.c.account_id == account_id, payments.c.amount_minor.is_not(None)
        )
        if published_by_ms is not None:
            query = query.where(
                or_(payments.c.log_time_ms.is_(None), payments.c.log_time_ms <= published_by_ms)
            )
        rows = await self.session.execute(query)
        return [
            Payment(r.account_id, r.payment_id, r.amount_minor, r.currency, r.value_date, r.reversed)
            for r in rows
        ]

    async def add(self, row: PromiseRow) -> None:
        promise = row.promise
        await self.session.execute(
            insert(promises).values(
                promise_id=promise.promise_id,
                customer_id=row.customer_id,
                account_id=next(iter(promise.account_ids)),
                amount_minor=promise.amount_minor,
                currency=promise.currency,
                made_on=promise.made_on,
                due_on=promise.due_on,
                status=row.status,
                paid_minor=row.paid_minor,
                permit_id=row.permit_id,
                party_kind=row.party_kind,
                party_id=row.party_id,
                made_by=row.made_by,
                made_at=row.made_at,
            )
        )

    async def note_close(self, business_date: date, log_time_ms: int) -> None:
        """A close to judge promises at; a repeat of it changes nothing."""
        await self.session.execute(
            pg_insert(promise_closes)
            .values(business_date=business_date, log_time_ms=log_time_ms)
            .on_conflict_do_nothing(index_elements=[promise_closes.c.business_date])
        )

    async def first_unjudged_close(self, *, for_update: bool = False) -> tuple[date, int] | None:
        """The earliest close not judged yet: its date and broker timestamp (locked: another
        judge waits for it rather than taking a later close first)."""
        query = (
            select(promise_closes.c.business_date, promise_closes.c.log_time_ms)
            .where(promise_closes.c.judged_at.is_(None))
            .order_by(promise_closes.c.business_date)
            .limit(1)
        )
        row = (await self.session.execute(query.with_for_update() if for_update else query)).first()
        return None if row is None else (row.business_date, row.log_time_ms)

    async def unjudged_closes(self) -> int:
        return int(
            (
                await self.session.execute(select(func.count()).where(promise_closes.c.judged_at.is_(None)))
            ).scalar_one()
        )

    async def mark_judged(self, business_date: date, at: datetime) -> None:
        await self.session.execute(
            update(promise_closes).where(promise_closes.c.business_date == business_date).values(judged_at=at)
        )

    async def open_due_by(self, day: date) -> Sequence[PromiseRow]:
        rows = await self.session.execute(
            select(promises).where(promises.c.status == "open", promises.c.due_on <= day).with_for_update()
        )
        return [_row(r) for r in rows]

    async def kept_covering(self, account_id: str, value_date: date) -> Sequence[PromiseRow]:
        rows = await self.session.execute(
            select(promises)
            .where(
                promises.c.account_id == account_id,
                promises.c.status == "kept",
                promises.c.made_on <= value_date,
                promises.c.due_on >= value_date,
            )
            .with_for_update()
        )
        return [_row(r) for r in rows]

    async def decide(self, promise_id: str, status: str, paid_minor: int, as_of: date) -> None:
        await self.session.execute(
            update(promises)
            .where(promises.c.promise_id == promise_id)
            .values(status=status, paid_minor=paid_minor, decided_as_of=as_of)
        )

    async def of_customer(self, customer_id: str) -> Sequence[PromiseRow]:
        rows = await self.session.execute(
            select(promises).where(promises.c.customer_id == customer_id).order_by(promises.c.made_at)
        )
        return [_row(r) for r in rows]

    async def get(self, promise_id: str) -> PromiseRow | None:
        row = (
            await self.session.execute(select(promises).where(promises.c.promise_id == promise_id))
        ).first()
        return _row(row) if row is not None else None


def _row(r: Any) -> PromiseRow:
    return PromiseRow(
        promise=Promise(
            r.promise_id, frozenset({r.account_id}), r.amount_minor, r.currency, r.made_on, r.due_on
        ),
        customer_id=r.customer_id,
        status=r.status,
        paid_minor=r.paid_minor,
        party_kind=r.party_kind,
        party_id=r.party_id,
        made_at=r.made_at,
        made_by=r.made_by,
        permit_id=r.permit_id,
    )

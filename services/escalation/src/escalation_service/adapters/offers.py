"""The ``offers`` table: restructuring offers and their answers."""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from escalation_service.adapters.orm import offers
from escalation_service.adapters.pages import page
from escalation_service.domain.restructuring import FeeReduction, Offer, OfferStatus, Terms

__all__ = ["Offers", "to_offer"]


def to_offer(row: Any) -> Offer:
    """The domain's offer from its row (a ``withdrawn`` offer reads as expired: it is closed)."""
    reduction = None
    if row.fee_reduction_amount_minor is not None or row.fee_reduction_basis_points is not None:
        reduction = FeeReduction(row.fee_reduction_amount_minor, row.fee_reduction_basis_points)
    terms = Terms(
        outstanding_minor=row.outstanding_minor,
        instalments=row.instalments,
        fee_minor=row.fee_minor,
        first_due_date=row.first_due_date,
        currency=row.currency,
        fee_reduction=reduction,
    )
    status = cast(OfferStatus, "expired" if row.status == "withdrawn" else str(row.status))
    return Offer(
        row.offer_id,
        row.account_id,
        row.customer_id,
        terms,
        row.offered_on,
        row.expires_on,
        status,
        row.answered_on,
    )


class Offers:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, offer: Offer, *, decision_key: str | None, rule_id: str, by: str) -> None:
        terms = offer.terms
        reduction = terms.fee_reduction
        await self.session.execute(
            insert(offers)
            .values(
                offer_id=offer.offer_id,
                decision_key=decision_key,
                rule_id=rule_id,
                account_id=offer.account_id,
                customer_id=offer.customer_id,
                status=offer.status,
                outstanding_minor=terms.outstanding_minor,
                instalments=terms.instalments,
                fee_minor=terms.fee_minor,
                fee_reduction_amount_minor=reduction.amount_minor if reduction else None,
                fee_reduction_basis_points=reduction.basis_points if reduction else None,
                first_due_date=terms.first_due_date,
                currency=terms.currency,
                offered_on=offer.offered_on,
                expires_on=offer.expires_on,
                made_by=by,
            )
            .on_conflict_do_nothing()
        )

    async def get(self, offer_id: str, *, lock: bool = False) -> Any | None:
        query = select(offers).where(offers.c.offer_id == offer_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.execute(query)).first()

    async def open_of_decision(self, decision_key: str) -> Any | None:
        return (
            await self.session.execute(
                select(offers).where(offers.c.decision_key == decision_key, offers.c.status == "offered")
            )
        ).first()

    async def answer(self, offer_id: str, *, status: str, on: date, by: str) -> None:
        await self.session.execute(
            update(offers)
            .where(offers.c.offer_id == offer_id)
            .values(status=status, answered_on=on, answered_by=by)
        )

    async def lapsed(self, today: date) -> list[Any]:
        """Offers still open whose expiry date is before ``today``."""
        return list(
            await self.session.execute(
                select(offers)
                .where(offers.c.status == "offered", offers.c.expires_on < today)
                .order_by(offers.c.seq)
                .with_for_update(skip_locked=True)
            )
        )

    async def page(
        self,
        *,
        status: str | None,
        account_id: str | None,
        customer_id: str | None,
        before: int | None,
        limit: int,
    ) -> tuple[list[Any], int | None]:
        where: list[ColumnElement[bool]] = []
        if status is not None:
            where.append(offers.c.status == status)
        if account_id is not None:
            where.append(offers.c.account_id == account_id)
        if customer_id is not None:
            where.append(offers.c.customer_id == customer_id)
        return await page(self.session, offers, where=where, before=before, limit=limit)

    async def accepted(self) -> list[Any]:
        """Agreed plans still holding, locked (others' locked ones skipped)."""
        return list(
            await self.session.execute(
                select(offers)
                .where(offers.c.status == "accepted")
                .order_by(offers.c.seq)
                .with_for_update(skip_locked=True)
            )
        )

    async def mark_broken(self, offer_id: str) -> None:
        await self.session.execute(
            update(offers).where(offers.c.offer_id == offer_id).values(status="broken")
        )

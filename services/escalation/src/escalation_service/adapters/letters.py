"""The ``letters`` table: demand letters and their dispatch status."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from escalation_service.adapters.orm import letters
from escalation_service.adapters.pages import page

__all__ = ["Letters"]


class Letters:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        letter_id: str,
        decision_key: str,
        rule_id: str,
        account_id: str,
        customer_id: str,
        language: str,
        past_due_minor: int,
        currency: str,
        dpd: int,
        overdue_since: date,
        issued_on: date,
        pay_by: date,
        by: str,
    ) -> None:
        await self.session.execute(
            insert(letters)
            .values(
                letter_id=letter_id,
                decision_key=decision_key,
                rule_id=rule_id,
                account_id=account_id,
                customer_id=customer_id,
                language=language,
                past_due_minor=past_due_minor,
                currency=currency,
                dpd=dpd,
                overdue_since=overdue_since,
                issued_on=issued_on,
                pay_by=pay_by,
                status="pending",
                updated_by=by,
            )
            .on_conflict_do_nothing()
        )

    async def get(self, letter_id: str, *, lock: bool = False) -> Any | None:
        query = select(letters).where(letters.c.letter_id == letter_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.execute(query)).first()

    async def of_decision(self, decision_key: str) -> Any | None:
        return (
            await self.session.execute(select(letters).where(letters.c.decision_key == decision_key))
        ).first()

    async def claim_due(self, now: datetime, limit: int) -> list[Any]:
        """Pending letters whose next attempt has come, locked (others' locked ones skipped)."""
        return list(
            await self.session.execute(
                select(letters)
                .where(letters.c.status == "pending", letters.c.next_attempt_at <= now)
                .order_by(letters.c.seq)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )

    async def set_status(self, letter_id: str, status: str, *, by: str, **values: Any) -> None:
        await self.session.execute(
            update(letters)
            .where(letters.c.letter_id == letter_id)
            .values(status=status, updated_by=by, updated_at=func.now(), **values)
        )

    async def failed_attempt(
        self, letter_id: str, *, error: str, retry_in: timedelta | None, now: datetime
    ) -> None:
        """Counts a failed dispatch round: retried after ``retry_in``, or failed for good when ``None``."""
        values: dict[str, Any] = {"attempts": letters.c.attempts + 1, "last_error": error[:500]}
        if retry_in is None:
            values["status"] = "failed"
        else:
            values["next_attempt_at"] = now + retry_in
        await self.session.execute(
            update(letters)
            .where(letters.c.letter_id == letter_id)
            .values(updated_by="letter-dispatcher", updated_at=func.now(), **values)
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
            where.append(letters.c.status == status)
        if account_id is not None:
            where.append(letters.c.account_id == account_id)
        if customer_id is not None:
            where.append(letters.c.customer_id == customer_id)
        return await page(self.session, letters, where=where, before=before, limit=limit)

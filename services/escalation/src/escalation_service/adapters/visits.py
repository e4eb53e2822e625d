"""The ``visits`` table: home visits and how the field team worked them."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from escalation_service.adapters.orm import visits
from escalation_service.adapters.pages import page
from escalation_service.domain.visits import Arrangement, Completion, Preparation, StaffMember, Visit

__all__ = ["Visits"]


def to_visit(row: Any) -> Visit:
    """The domain's visit from its row."""
    preparation = Preparation(tuple(row.materials), row.plan) if row.plan is not None else None
    arrangement = (
        Arrangement(row.visit_at, row.arranged_at, row.permit_id) if row.visit_at is not None else None
    )
    completion = None
    if row.completed_at is not None:
        staff = tuple(StaffMember(s["staff_id"], s["name"], frozenset({"field"})) for s in row.staff or ())
        completion = Completion(staff, row.outcome, row.record_ref, row.completed_at, row.notes or "")
    return Visit(
        visit_id=row.visit_id,
        customer_id=row.customer_id,
        account_id=row.account_id,
        status=row.status,
        preparation=preparation,
        arrangement=arrangement,
        completion=completion,
        cancel_reason=row.cancel_reason,
    )


class Visits:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, visit: Visit, *, decision_key: str, scheduled_on: date, by: str) -> None:
        await self.session.execute(
            insert(visits)
            .values(
                visit_id=visit.visit_id,
                decision_key=decision_key,
                customer_id=visit.customer_id,
                account_id=visit.account_id,
                status=visit.status,
                scheduled_on=scheduled_on,
                updated_by=by,
            )
            .on_conflict_do_nothing()
        )

    async def get(self, visit_id: str, *, lock: bool = False) -> Any | None:
        query = select(visits).where(visits.c.visit_id == visit_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.execute(query)).first()

    async def of_decision(self, decision_key: str) -> Any | None:
        return (
            await self.session.execute(select(visits).where(visits.c.decision_key == decision_key))
        ).first()

    async def save(self, visit: Visit, *, by: str) -> None:
        values: dict[str, Any] = {"status": visit.status, "cancel_reason": visit.cancel_reason}
        if visit.preparation is not None:
            values.update(materials=list(visit.preparation.materials), plan=visit.preparation.plan)
        if visit.arrangement is not None:
            values.update(
                visit_at=visit.arrangement.visit_at,
                arranged_at=visit.arrangement.arranged_at,
                permit_id=visit.arrangement.permit_id,
            )
        if visit.completion is not None:
            done = visit.completion
            values.update(
                staff=[{"staff_id": m.staff_id, "name": m.name} for m in done.staff],
                outcome=done.outcome,
                record_ref=done.record_ref,
                completed_at=done.completed_at,
                notes=done.notes,
            )
        await self.session.execute(
            update(visits)
            .where(visits.c.visit_id == visit.visit_id)
            .values(updated_by=by, updated_at=func.now(), **values)
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
            where.append(visits.c.status == status)
        if account_id is not None:
            where.append(visits.c.account_id == account_id)
        if customer_id is not None:
            where.append(visits.c.customer_id == customer_id)
        return await page(self.session, visits, where=where, before=before, limit=limit)

"""The queries behind the KPIs: stage transitions between two month-ends, and the close clock."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Subquery, func, literal, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from aging_service.adapters.orm import partition_clocks, stage_changes, statements

__all__ = ["KpiQueries"]


def _stage_as_of(day: date) -> Subquery:
    """Each account's stage as of ``day``: its last stage change at or before it (accounts never
    changed by then are absent). "Last" is the latest recorded, as the portfolio summary reads it."""
    return (
        select(stage_changes.c.account_id, stage_changes.c.to_stage.label("stage"))
        .where(stage_changes.c.as_of <= day)
        .ext(distinct_on(stage_changes.c.account_id))
        .order_by(stage_changes.c.account_id, stage_changes.c.id.desc())
        .subquery()
    )


class KpiQueries:
    """Read-only queries for the KPIs, on a session (the API) or a connection (the gauges)."""

    def __init__(self, db: AsyncSession | AsyncConnection) -> None:
        self.db = db

    async def transitions(self, start: date, end: date, *, current_stage: str) -> dict[tuple[str, str], int]:
        """Accounts per (stage as of ``start``, stage as of ``end``), counting the accounts billed by
        ``start`` (a statement dated on or before it); an account with no change yet is in
        ``current_stage``."""
        billed = (
            select(statements.c.account_id)
            .where(statements.c.statement_date <= start)
            .group_by(statements.c.account_id)
            .subquery()
        )
        before, after = _stage_as_of(start), _stage_as_of(end)
        before_stage = func.coalesce(before.c.stage, literal(current_stage)).label("before_stage")
        after_stage = func.coalesce(after.c.stage, literal(current_stage)).label("after_stage")
        rows = await self.db.execute(
            select(before_stage, after_stage, func.count().label("accounts"))
            .select_from(
                billed.outerjoin(before, before.c.account_id == billed.c.account_id).outerjoin(
                    after, after.c.account_id == billed.c.account_id
                )
            )
            .group_by(before_stage, after_stage)
        )
        return {(row.before_stage, row.after_stage): row.accounts for row in rows}

    async def closed_through(self) -> date | None:
        """The business date every partition is closed through; ``None`` before any close."""
        closed: date | None = await self.db.scalar(select(func.min(partition_clocks.c.closed_through)))
        return closed

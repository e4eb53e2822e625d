"""The contact KPIs' facts: cures as they are consumed, and monthly counts of promise decisions,
contact attempts and cures."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Date, cast, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from collections_common.months import Month
from contact_service.adapters.orm import cases, cures, permits, promises

__all__ = ["KpiRepository"]


def _month(column: ColumnElement[date]) -> ColumnElement[datetime]:
    return func.date_trunc("month", column).label("month")


class KpiRepository:
    """Every SQL statement of the contact KPIs, on a session (handlers, API) or a connection (gauges)."""

    def __init__(self, db: AsyncSession | AsyncConnection) -> None:
        self.db = db

    async def promise_decisions(self, first: date, last: date) -> dict[tuple[Month, str], int]:
        """Promises decided kept or broken per (month of the decision's as-of date, status)."""
        month = _month(promises.c.decided_as_of)
        rows = await self.db.execute(
            select(month, promises.c.status, func.count().label("n"))
            .where(
                promises.c.status.in_(("kept", "broken")),
                promises.c.decided_as_of.between(first, last),
            )
            .group_by(month, promises.c.status)
        )
        return {(Month.of(row.month), row.status): row.n for row in rows}

    async def attempts(self, first: date, last: date) -> dict[Month, int]:
        """Allowed permits per month of the debtor's local date (UTC for a debtor without a case)."""
        local_day = cast(func.timezone(func.coalesce(cases.c.timezone, "UTC"), permits.c.at), Date)
        month = _month(local_day)
        rows = await self.db.execute(
            select(month, func.count().label("n"))
            .select_from(permits.outerjoin(cases, cases.c.customer_id == permits.c.customer_id))
            .where(
                permits.c.allowed.is_(True),
                # a day either side in UTC holds every local date of the range; the exact test follows
                permits.c.at >= datetime.combine(first - timedelta(days=1), time(), tzinfo=UTC),
                permits.c.at < datetime.combine(last + timedelta(days=2), time(), tzinfo=UTC),
                local_day.between(first, last),
            )
            .group_by(month)
        )
        return {Month.of(row.month): row.n for row in rows}

    async def cures(self, first: date, last: date) -> dict[Month, int]:
        """Cures per month of their as-of date."""
        month = _month(cures.c.as_of)
        rows = await self.db.execute(
            select(month, func.count().label("n")).where(cures.c.as_of.between(first, last)).group_by(month)
        )
        return {Month.of(row.month): row.n for row in rows}

"""Loads the contact KPIs of a range of months: the repository's counts, the domain's figures."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from collections_common.months import Month
from contact_service.adapters.kpis import KpiRepository
from contact_service.domain.kpis import MonthFigures, monthly_figures

__all__ = ["figures_of"]


async def figures_of(db: AsyncSession | AsyncConnection, months: Sequence[Month]) -> list[MonthFigures]:
    """The figures of each of ``months`` (consecutive, oldest first)."""
    first, last = months[0].first_day, months[-1].last_day
    repository = KpiRepository(db)
    decisions = await repository.promise_decisions(first, last)
    return monthly_figures(
        months,
        kept={m: n for (m, status), n in decisions.items() if status == "kept"},
        broken={m: n for (m, status), n in decisions.items() if status == "broken"},
        attempts=await repository.attempts(first, last),
        cures=await repository.cures(first, last),
    )

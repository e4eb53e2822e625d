"""What the API reads: an account's delinquency and stage history, the portfolio per stage."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aging_service.adapters.orm import accounts, stage_changes
from aging_service.adapters.repository import BookRepository
from aging_service.domain.account import AccountBook
from aging_service.domain.aging import Assessment
from aging_service.domain.calendar import as_of_after
from aging_service.domain.errors import UnknownAccount
from aging_service.domain.policy import AgingPolicy


@dataclass(frozen=True)
class Delinquency:
    """An account's book assessed at its partition's as-of date, with its reversal reasons."""

    book: AccountBook
    assessment: Assessment
    as_of: date | None
    reversal_reasons: dict[str, str | None]


class AccountQueries:
    """Reads of one account; raise :class:`UnknownAccount` when aging has never seen it."""

    def __init__(self, session: AsyncSession, policy: AgingPolicy) -> None:
        self._repo = BookRepository(session, policy)

    async def delinquency(self, account_id: str) -> Delinquency:
        partition = await self._known(account_id)
        book = (await self._repo.load([account_id], {}))[account_id]
        as_of = as_of_after(await self._repo.closed_through(partition))
        return Delinquency(
            book=book,
            assessment=book.assess(as_of),
            as_of=as_of,
            reversal_reasons=await self._repo.reversal_reasons(account_id),
        )

    async def stage_history(self, account_id: str) -> list[Any]:
        await self._known(account_id)
        return await self._repo.stage_history(account_id)

    async def _known(self, account_id: str) -> int:
        partition = await self._repo.partition_of(account_id)
        if partition is None:
            raise UnknownAccount(account_id)
        return partition


@dataclass
class StageTotals:
    """Accounts per stage and their past-due sums per stage and currency."""

    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    amounts: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))

    def add(self, stage: str, currency: str | None, count: int, past_due: int | None) -> None:
        self.counts[stage] += count
        if past_due:
            self.amounts[stage][currency or "UNKNOWN"] += int(past_due)


class PortfolioQueries:
    """Reads over the whole portfolio."""

    def __init__(self, session: AsyncSession, policy: AgingPolicy) -> None:
        self._session = session
        self._policy = policy

    async def stage_totals(self, as_of: date | None) -> StageTotals:
        """Totals now (``as_of`` None), or as of a past date from the stage history: each account's
        stage is the last one it entered on or before that date (none: the policy's first stage),
        with the past-due amount recorded with that change."""
        totals = StageTotals()
        if as_of is None:
            rows = await self._session.execute(
                select(
                    accounts.c.stage, accounts.c.currency, func.count(), func.sum(accounts.c.past_due_minor)
                ).group_by(accounts.c.stage, accounts.c.currency)
            )
            for stage, currency, count, past_due in rows:
                totals.add(stage, currency, count, past_due)
            return totals
        latest = (
            select(stage_changes.c.account_id, stage_changes.c.to_stage, stage_changes.c.past_due_minor)
            .where(stage_changes.c.as_of <= as_of)
            .distinct(stage_changes.c.account_id)
            .order_by(stage_changes.c.account_id, stage_changes.c.id.desc())
            .subquery()
        )
        rows = await self._session.execute(
            select(latest.c.to_stage, accounts.c.currency, func.count(), func.sum(latest.c.past_due_minor))
            .join(accounts, accounts.c.account_id == latest.c.account_id)
            .group_by(latest.c.to_stage, accounts.c.currency)
        )
        changed = 0
        for stage, currency, count, past_due in rows:
            totals.add(stage, currency, count, past_due)
            changed += count
        total = await self._session.scalar(select(func.count()).select_from(accounts)) or 0
        totals.counts[self._policy.current_stage] += total - changed
        return totals

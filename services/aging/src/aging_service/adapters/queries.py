"""What the API reads: an account's delinquency now and its stage history, one query each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

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

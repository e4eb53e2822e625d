"""The ``legal_files`` and ``legal_steps`` tables."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from escalation_service.adapters.orm import legal_files, legal_steps
from escalation_service.adapters.pages import page
from escalation_service.domain.legal import LegalFile, LegalStep

__all__ = ["LegalFiles"]


class LegalFiles:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, legal_file: LegalFile, *, decision_key: str, reason: str) -> None:
        await self.session.execute(
            insert(legal_files)
            .values(
                file_id=legal_file.file_id,
                decision_key=decision_key,
                rule_id=legal_file.rule_id,
                reason=reason,
                account_id=legal_file.account_id,
                customer_id=legal_file.customer_id,
                opened_on=legal_file.opened_on,
            )
            .on_conflict_do_nothing()
        )

    async def get_row(self, file_id: str, *, lock: bool = False) -> Any | None:
        query = select(legal_files).where(legal_files.c.file_id == file_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.execute(query)).first()

    async def steps_of(self, file_ids: list[str]) -> dict[str, list[Any]]:
        found: dict[str, list[Any]] = {file_id: [] for file_id in file_ids}
        if not file_ids:
            return found
        rows = await self.session.execute(
            select(legal_steps).where(legal_steps.c.file_id.in_(file_ids)).order_by(legal_steps.c.number)
        )
        for row in rows:
            found[row.file_id].append(row)
        return found

    async def load(self, file_id: str, *, lock: bool = False) -> LegalFile | None:
        row = await self.get_row(file_id, lock=lock)
        if row is None:
            return None
        steps = (await self.steps_of([file_id]))[file_id]
        return LegalFile(
            file_id=row.file_id,
            account_id=row.account_id,
            customer_id=row.customer_id,
            rule_id=row.rule_id,
            opened_on=row.opened_on,
            steps=tuple(LegalStep(s.kind, s.on, s.recorded_by, s.reference) for s in steps),
            closed_on=row.closed_on,
            close_reason=row.close_reason,
        )

    async def add_step(self, file_id: str, number: int, step: LegalStep) -> None:
        await self.session.execute(
            insert(legal_steps).values(
                file_id=file_id,
                number=number,
                kind=step.kind,
                on=step.on,
                reference=step.reference,
                recorded_by=step.recorded_by,
            )
        )

    async def close(self, legal_file: LegalFile, *, by: str) -> None:
        await self.session.execute(
            update(legal_files)
            .where(legal_files.c.file_id == legal_file.file_id)
            .values(closed_on=legal_file.closed_on, close_reason=legal_file.close_reason, closed_by=by)
        )

    async def page(
        self,
        *,
        open_only: bool | None,
        account_id: str | None,
        customer_id: str | None,
        before: int | None,
        limit: int,
    ) -> tuple[list[Any], int | None]:
        where: list[ColumnElement[bool]] = []
        if open_only is True:
            where.append(legal_files.c.closed_on.is_(None))
        elif open_only is False:
            where.append(legal_files.c.closed_on.is_not(None))
        if account_id is not None:
            where.append(legal_files.c.account_id == account_id)
        if customer_id is not None:
            where.append(legal_files.c.customer_id == customer_id)
        return await page(self.session, legal_files, where=where, before=before, limit=limit)

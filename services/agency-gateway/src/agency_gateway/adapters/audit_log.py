"""Queries of the audit of personal-data reads (the rows ``collections_common.audit`` writes)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from collections_common.runtime.tables import personal_data_reads


async def audit_page(
    session: AsyncSession,
    *,
    after_id: int,
    limit: int,
    agency_id: str | None = None,
    subject_id: str | None = None,
    actor_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Sequence[Any]:
    """Records after ``after_id`` (in the order written) matching every filter given."""
    table = personal_data_reads
    query = (
        select(
            table.c.id,
            table.c.at,
            table.c.actor_kind,
            table.c.actor_id,
            table.c.agency_id,
            table.c.subject_kind,
            table.c.subject_id,
            table.c.fields,
            table.c.route,
            table.c.request_id,
        )
        .where(table.c.id > after_id)
        .order_by(table.c.id)
        .limit(limit)
    )
    if agency_id is not None:
        query = query.where(table.c.agency_id == agency_id)
    if subject_id is not None:
        query = query.where(table.c.subject_id == subject_id)
    if actor_id is not None:
        query = query.where(table.c.actor_id == actor_id)
    if since is not None:
        query = query.where(table.c.at >= since)
    if until is not None:
        query = query.where(table.c.at < until)
    return list(await session.execute(query))

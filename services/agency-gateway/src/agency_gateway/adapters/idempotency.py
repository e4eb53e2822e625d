"""Idempotency keys of agency writes: the first answer, kept for a repeat."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from agency_gateway.adapters.orm import idempotency_keys


@dataclass(frozen=True)
class StoredAnswer:
    route: str
    request_hash: bytes
    status_code: int
    response: dict[str, Any]


class IdempotencyKeys:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find(self, agency_id: str, key: str) -> StoredAnswer | None:
        row = (
            await self.session.execute(
                select(
                    idempotency_keys.c.route,
                    idempotency_keys.c.request_hash,
                    idempotency_keys.c.status_code,
                    idempotency_keys.c.response,
                ).where(idempotency_keys.c.agency_id == agency_id, idempotency_keys.c.key == key)
            )
        ).first()
        if row is None:
            return None
        return StoredAnswer(row.route, row.request_hash, row.status_code, row.response)

    async def claim(self, agency_id: str, key: str, route: str, request_hash: bytes) -> bool:
        """Take the key for this transaction; False if another request holds it (committed).

        A concurrent request with the same key waits here until the first one's transaction ends.
        """
        statement = (
            pg_insert(idempotency_keys)
            .values(
                agency_id=agency_id,
                key=key,
                route=route,
                request_hash=request_hash,
                status_code=0,
                response={},
            )
            .on_conflict_do_nothing()
            .returning(idempotency_keys.c.key)
        )
        return (await self.session.execute(statement)).first() is not None

    async def complete(self, agency_id: str, key: str, status_code: int, response: dict[str, Any]) -> None:
        await self.session.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.agency_id == agency_id, idempotency_keys.c.key == key)
            .values(status_code=status_code, response=response)
        )

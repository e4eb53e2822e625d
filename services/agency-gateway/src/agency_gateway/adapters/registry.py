"""The agency registry, API clients and access tokens: all their SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from agency_gateway.adapters.orm import access_tokens, agencies, api_clients
from agency_gateway.domain.agencies import Agency


def _agency(row: Any) -> Agency:
    return Agency(
        agency_id=row.agency_id,
        name=row.name,
        regions=tuple(row.regions),
        capacity=row.capacity,
        active=row.active,
        contract_start=row.contract_start,
        contract_end=row.contract_end,
        review_due=row.review_due,
    )


def _values(agency: Agency) -> dict[str, Any]:
    return {
        "name": agency.name,
        "regions": list(agency.regions),
        "capacity": agency.capacity,
        "active": agency.active,
        "contract_start": agency.contract_start,
        "contract_end": agency.contract_end,
        "review_due": agency.review_due,
    }


class Agencies:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, agency: Agency, *, by: str) -> bool:
        """Insert ``agency``; False when its id is taken."""
        statement = (
            pg_insert(agencies)
            .values(agency_id=agency.agency_id, updated_by=by, **_values(agency))
            .on_conflict_do_nothing(index_elements=[agencies.c.agency_id])
            .returning(agencies.c.agency_id)
        )
        return (await self.session.execute(statement)).first() is not None

    async def get(self, agency_id: str, *, for_update: bool = False) -> Agency | None:
        query = select(agencies).where(agencies.c.agency_id == agency_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return None if row is None else _agency(row)

    async def save(self, agency: Agency, *, by: str) -> None:
        await self.session.execute(
            update(agencies)
            .where(agencies.c.agency_id == agency.agency_id)
            .values(updated_by=by, updated_at=func.now(), **_values(agency))
        )

    async def page(self, *, after: str | None, limit: int) -> list[Agency]:
        query = select(agencies).order_by(agencies.c.agency_id).limit(limit)
        if after is not None:
            query = query.where(agencies.c.agency_id > after)
        return [_agency(row) for row in await self.session.execute(query)]

    async def next_sequence(self, agency_id: str) -> int | None:
        """The agency's next change sequence, its row locked until the transaction ends (so
        sequences of one agency commit in the order they were given); None for an unknown agency."""
        statement = (
            update(agencies)
            .where(agencies.c.agency_id == agency_id)
            .values(change_sequence=agencies.c.change_sequence + 1)
            .returning(agencies.c.change_sequence)
        )
        sequence: int | None = (await self.session.execute(statement)).scalar_one_or_none()
        return sequence


@dataclass(frozen=True)
class ClientRecord:
    client_id: str
    agency_id: str
    secret_hash: str
    generation: int
    revoked: bool


@dataclass(frozen=True)
class TokenHolder:
    """Who an unexpired access token was issued to, as the database stands now."""

    client_id: str
    agency_id: str
    token_generation: int
    client_generation: int
    revoked: bool
    agency_active: bool
    expires_at: datetime


class Clients:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, client_id: str, agency_id: str, secret_hash: str, *, by: str) -> datetime:
        statement = (
            insert(api_clients)
            .values(client_id=client_id, agency_id=agency_id, secret_hash=secret_hash, created_by=by)
            .returning(api_clients.c.created_at)
        )
        created: datetime = (await self.session.execute(statement)).scalar_one()
        return created

    async def get(self, client_id: str) -> ClientRecord | None:
        row = (
            await self.session.execute(
                select(
                    api_clients.c.client_id,
                    api_clients.c.agency_id,
                    api_clients.c.secret_hash,
                    api_clients.c.generation,
                    api_clients.c.revoked_at,
                ).where(api_clients.c.client_id == client_id)
            )
        ).first()
        if row is None:
            return None
        return ClientRecord(
            client_id=row.client_id,
            agency_id=row.agency_id,
            secret_hash=row.secret_hash,
            generation=row.generation,
            revoked=row.revoked_at is not None,
        )

    async def rotate(self, client_id: str, agency_id: str, secret_hash: str) -> int | None:
        """A new secret and generation for an unrevoked client; None if there is none."""
        statement = (
            update(api_clients)
            .where(
                api_clients.c.client_id == client_id,
                api_clients.c.agency_id == agency_id,
                api_clients.c.revoked_at.is_(None),
            )
            .values(secret_hash=secret_hash, generation=api_clients.c.generation + 1)
            .returning(api_clients.c.generation)
        )
        generation: int | None = (await self.session.execute(statement)).scalar_one_or_none()
        return generation

    async def revoke(self, client_id: str, agency_id: str) -> bool:
        statement = (
            update(api_clients)
            .where(
                api_clients.c.client_id == client_id,
                api_clients.c.agency_id == agency_id,
                api_clients.c.revoked_at.is_(None),
            )
            .values(revoked_at=func.now())
            .returning(api_clients.c.client_id)
        )
        revoked = (await self.session.execute(statement)).first() is not None
        if revoked:
            await self.session.execute(delete(access_tokens).where(access_tokens.c.client_id == client_id))
        return revoked

    async def of_agency(self, agency_id: str) -> Sequence[Any]:
        query = (
            select(
                api_clients.c.client_id,
                api_clients.c.generation,
                api_clients.c.created_at,
                api_clients.c.revoked_at,
            )
            .where(api_clients.c.agency_id == agency_id)
            .order_by(api_clients.c.created_at, api_clients.c.client_id)
        )
        return list(await self.session.execute(query))


class Tokens:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, token_hash: bytes, client_id: str, generation: int, expires_at: datetime) -> None:
        await self.session.execute(
            insert(access_tokens).values(
                token_hash=token_hash, client_id=client_id, generation=generation, expires_at=expires_at
            )
        )

    async def forget_expired(self, before: datetime, *, limit: int = 1000) -> None:
        doomed = (
            select(access_tokens.c.token_hash).where(access_tokens.c.expires_at < before).limit(limit)
        ).scalar_subquery()
        await self.session.execute(delete(access_tokens).where(access_tokens.c.token_hash.in_(doomed)))

    async def holder(self, token_hash: bytes) -> TokenHolder | None:
        """Who holds the token ``token_hash``, expired or not (one query: token, client and agency)."""
        query = (
            select(
                access_tokens.c.client_id,
                access_tokens.c.generation.label("token_generation"),
                api_clients.c.agency_id,
                api_clients.c.generation.label("client_generation"),
                api_clients.c.revoked_at,
                agencies.c.active,
                access_tokens.c.expires_at,
            )
            .join(api_clients, api_clients.c.client_id == access_tokens.c.client_id)
            .join(agencies, agencies.c.agency_id == api_clients.c.agency_id)
            .where(access_tokens.c.token_hash == token_hash)
        )
        row = (await self.session.execute(query)).first()
        if row is None:
            return None
        return TokenHolder(
            client_id=row.client_id,
            agency_id=row.agency_id,
            token_generation=row.token_generation,
            client_generation=row.client_generation,
            revoked=row.revoked_at is not None,
            agency_active=row.active,
            expires_at=row.expires_at,
        )

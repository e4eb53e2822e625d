"""Permits (every decision, with its rule and outcome) and inbound contacts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from collections_common.runtime.tables import outbox
from contact_service.adapters.driver import in_transaction, require_transaction
from contact_service.adapters.orm import inbound_contacts, permits
from contact_service.domain.compliance import ContactHistory, InboundContact, PermitRecord
from contact_service.domain.contact import Channel, Outcome, Party, PartyKind

__all__ = ["InboundRow", "PermitRepository", "PermitRow", "store_decision"]

_DECISION_COLUMNS = (
    "permit_id",
    "customer_id",
    "account_id",
    "channel",
    "contact_point",
    "party_kind",
    "party_id",
    "autodialled",
    "purpose",
    "at",
    "pack",
    "allowed",
    "expires_at",
    "rule",
    "retry_after",
    "requested_by",
    "decided_at",
)
_INSERT_DECISION = (
    f"INSERT INTO {permits.name} ({', '.join(_DECISION_COLUMNS)}) "
    f"VALUES ({', '.join(f'${n}' for n in range(1, len(_DECISION_COLUMNS) + 1))})"
)
"""A decision's insert, run on an asyncpg connection (``adapters/driver.py``)."""
_OUTBOX_COLUMNS = ("lane", "topic", "key", "payload", "headers", "event_id")
_FIRST = len(_DECISION_COLUMNS) + 1
_INSERT_DECISION_WITH_EVENT = (
    f"WITH decision AS ({_INSERT_DECISION}) "
    f"INSERT INTO {outbox.name} ({', '.join(_OUTBOX_COLUMNS)}) "
    f"VALUES (${_FIRST}, ${_FIRST + 1}, ${_FIRST + 2}, ${_FIRST + 3}, ${_FIRST + 4}::jsonb, ${_FIRST + 5})"
)
"""A decision's insert with its event's outbox row, in one statement."""


@dataclass(frozen=True, slots=True)
class PermitRow:
    """A stored decision."""

    permit_id: str
    customer_id: str
    account_id: str
    channel: str
    contact_point: str
    party_kind: str
    party_id: str | None
    autodialled: bool
    purpose: str
    at: datetime
    pack: str
    allowed: bool
    expires_at: datetime | None
    rule: str | None
    retry_after: datetime | None
    requested_by: str | None
    decided_at: datetime
    # What the party reported afterwards: nothing yet when the decision is made.
    outcome: str | None = None
    outcome_at: datetime | None = None
    recording_ref: str | None = None
    details: dict[str, Any] | None = None
    outcome_by: str | None = None

    @property
    def party(self) -> Party:
        return Party(PartyKind(self.party_kind), self.party_id)

    def outcome_as_of(self, now: datetime) -> str | None:
        """The reported outcome; else pending (None) before expiry and ``unknown`` after (allowed only)."""
        if self.outcome is not None or not self.allowed:
            return self.outcome
        return Outcome.UNKNOWN.value if self.expires_at is not None and now >= self.expires_at else None


@dataclass(frozen=True, slots=True)
class InboundRow:
    """A stored inbound contact."""

    contact_id: str
    customer_id: str
    account_id: str
    channel: str
    contact_point: str
    at: datetime
    outcome: str
    recorded_by: str | None


async def store_decision(driver: Any, row: PermitRow, event: dict[str, Any] | None) -> None:
    """Store a decision (no outcome yet) and the outbox row of its event (``event_row``), if any,
    in one statement on ``driver``, an asyncpg connection in the transaction that holds the
    debtor's lock."""
    require_transaction(driver, "a decision is stored in the transaction that holds the debtor's lock")
    values = [getattr(row, name) for name in _DECISION_COLUMNS]
    if event is None:
        await driver.execute(_INSERT_DECISION, *values)
        return
    event = {**event, "headers": json.dumps(event["headers"])}
    await driver.execute(_INSERT_DECISION_WITH_EVENT, *values, *(event[name] for name in _OUTBOX_COLUMNS))


class PermitRepository:
    """Every SQL statement about permits and inbound contacts."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def history(self, customer_id: str, start: datetime, end: datetime) -> ContactHistory:
        """The debtor's allowed permits and inbound contacts with ``start <= at < end``."""
        rows = await self.session.execute(
            select(
                permits.c.account_id,
                permits.c.channel,
                permits.c.contact_point,
                permits.c.at,
                permits.c.expires_at,
                permits.c.outcome,
                permits.c.party_kind,
                permits.c.party_id,
            ).where(
                permits.c.customer_id == customer_id,
                permits.c.allowed,
                permits.c.at >= start,
                permits.c.at < end,
            )
        )
        records = [
            PermitRecord(
                account_id=r.account_id,
                channel=Channel(r.channel),
                contact_point=r.contact_point,
                at=r.at,
                expires_at=r.expires_at,
                outcome=Outcome(r.outcome) if r.outcome is not None else None,
                party=Party(PartyKind(r.party_kind), r.party_id),
            )
            for r in rows
        ]
        inbound_rows = await self.session.execute(
            select(
                inbound_contacts.c.account_id,
                inbound_contacts.c.channel,
                inbound_contacts.c.contact_point,
                inbound_contacts.c.at,
                inbound_contacts.c.outcome,
            ).where(
                inbound_contacts.c.customer_id == customer_id,
                inbound_contacts.c.at >= start,
                inbound_contacts.c.at < end,
            )
        )
        inbound = [
            InboundContact(r.account_id, Channel(r.channel), r.contact_point, r.at, Outcome(r.outcome))
            for r in inbound_rows
        ]
        return ContactHistory(permits=records, inbound=inbound)

    async def add(self, row: PermitRow) -> None:
        """Store a decision (no outcome yet), in the transaction that holds the debtor's lock."""
        await store_decision(await in_transaction(self.session), row, None)

    async def get(self, permit_id: str, *, for_update: bool = False) -> PermitRow | None:
        query = select(permits).where(permits.c.permit_id == permit_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return _permit(row) if row is not None else None

    async def set_outcome(
        self,
        permit_id: str,
        *,
        outcome: str,
        at: datetime,
        recording_ref: str | None,
        details: dict[str, Any] | None,
        by: str | None,
    ) -> None:
        await self.session.execute(
            update(permits)
            .where(permits.c.permit_id == permit_id)
            .values(
                outcome=outcome, outcome_at=at, recording_ref=recording_ref, details=details, outcome_by=by
            )
        )

    async def add_inbound(self, row: InboundRow) -> None:
        await self.session.execute(
            insert(inbound_contacts).values(
                contact_id=row.contact_id,
                customer_id=row.customer_id,
                account_id=row.account_id,
                channel=row.channel,
                contact_point=row.contact_point,
                at=row.at,
                outcome=row.outcome,
                recorded_by=row.recorded_by,
            )
        )

    async def page(
        self,
        customer_id: str,
        *,
        after: tuple[datetime, str] | None,
        limit: int,
        channel: str | None = None,
        allowed: bool | None = None,
    ) -> Sequence[PermitRow]:
        """The debtor's decisions, newest first (by ``at``, then id), after the cursor ``(at, permit_id)``."""
        query = select(permits).where(permits.c.customer_id == customer_id)
        if channel is not None:
            query = query.where(permits.c.channel == channel)
        if allowed is not None:
            query = query.where(permits.c.allowed.is_(allowed))
        if after is not None:
            at, permit_id = after
            query = query.where(
                or_(permits.c.at < at, and_(permits.c.at == at, permits.c.permit_id < permit_id))
            )
        rows = await self.session.execute(
            query.order_by(permits.c.at.desc(), permits.c.permit_id.desc()).limit(limit)
        )
        return [_permit(r) for r in rows]

    async def inbound(self, customer_id: str, limit: int = 100) -> Sequence[InboundRow]:
        rows = await self.session.execute(
            select(inbound_contacts)
            .where(inbound_contacts.c.customer_id == customer_id)
            .order_by(inbound_contacts.c.at.desc())
            .limit(limit)
        )
        return [
            InboundRow(
                contact_id=r.contact_id,
                customer_id=r.customer_id,
                account_id=r.account_id,
                channel=r.channel,
                contact_point=r.contact_point,
                at=r.at,
                outcome=r.outcome,
                recorded_by=r.recorded_by,
            )
            for r in rows
        ]

    async def expired_unanswered(self, now: datetime, limit: int) -> list[str]:
        """Ids of allowed permits past their expiry with no outcome, the longest expired first."""
        found = await self.session.execute(
            select(permits.c.permit_id)
            .where(permits.c.allowed, permits.c.outcome.is_(None), permits.c.expires_at <= now)
            .order_by(permits.c.expires_at)
            .limit(limit)
        )
        return [r.permit_id for r in found]

    async def count_decisions(self) -> int:
        return int((await self.session.execute(select(func.count()).select_from(permits))).scalar_one())


def _permit(r: Any) -> PermitRow:
    return PermitRow(
        permit_id=r.permit_id,
        customer_id=r.customer_id,
        account_id=r.account_id,
        channel=r.channel,
        contact_point=r.contact_point,
        party_kind=r.party_kind,
        party_id=r.party_id,
        autodialled=r.autodialled,
        purpose=r.purpose,
        at=r.at,
        pack=r.pack,
        allowed=r.allowed,
        expires_at=r.expires_at,
        rule=r.rule,
        retry_after=r.retry_after,
        requested_by=r.requested_by,
        decided_at=r.decided_at,
        outcome=r.outcome,
        outcome_at=r.outcome_at,
        recording_ref=r.recording_ref,
        details=r.details,
        outcome_by=r.outcome_by,
    )

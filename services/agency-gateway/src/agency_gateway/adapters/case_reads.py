"""One agency read of one case in a single statement: the token with its client and agency, the
placement, the case's accounts and latest reports, and the audit record of the read.

The statement runs outside any explicit transaction (PostgreSQL commits it on its own), so the
audit row is committed before the answer reaches the caller, in one round trip. It writes the
audit row only when asked to (``audit``) and only when the token is live, its client current, its
agency active and the case placed with that agency: exactly the reads that are answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from agency_gateway.adapters.cases import PLACED
from agency_gateway.adapters.registry import TokenHolder
from collections_common.audit import ActorKind
from collections_common.database import LOST_CONNECTION, pooled_driver

# $1 token hash, $2 case id, $3 now, $4 audit?, $5 fields, $6 route, $7 request id, $8 history limit
_READ = f"""
WITH holder AS (
    SELECT t.client_id, c.agency_id, t.generation AS token_generation,
           c.generation AS client_generation, c.revoked_at IS NOT NULL AS revoked,
           a.active AS agency_active, t.expires_at
    FROM access_tokens AS t
    JOIN api_clients AS c ON c.client_id = t.client_id
    JOIN agencies AS a ON a.agency_id = c.agency_id
    WHERE t.token_hash = $1
), reader AS (
    SELECT client_id, agency_id FROM holder
    WHERE expires_at > $3 AND NOT revoked AND token_generation = client_generation AND agency_active
), found AS (
    SELECT p.placement_id, p.case_id, p.placed_on, p.ends_on, p.stage, p.dpd, p.past_due_minor,
           p.currency, p.debtor
    FROM placements AS p JOIN reader ON p.agency_id = reader.agency_id
    WHERE p.case_id = $2 AND p.status = '{PLACED}'
    LIMIT 1
), audited AS (
    INSERT INTO personal_data_reads
        (at, actor_kind, actor_id, actor_roles, agency_id, subject_kind, subject_id, fields, route,
         request_id)
    SELECT $3, '{ActorKind.AGENCY_CLIENT.value}', reader.client_id, '{{}}', reader.agency_id, 'case',
           found.case_id, $5::varchar[], $6, $7
    FROM found CROSS JOIN reader
    WHERE $4
    RETURNING 1
)
SELECT holder.client_id, holder.agency_id, holder.token_generation, holder.client_generation,
       holder.revoked, holder.agency_active, holder.expires_at,
       found.placement_id, found.case_id, found.placed_on, found.ends_on, found.stage, found.dpd,
       found.past_due_minor, found.currency, found.debtor,
       (SELECT coalesce(json_agg(json_build_object(
                   'account_id', pa.account_id, 'stage', pa.stage, 'dpd', pa.dpd,
                   'past_due_minor', pa.past_due_minor, 'currency', pa.currency)
               ORDER BY pa.account_id), '[]')
        FROM placement_accounts AS pa WHERE pa.placement_id = found.placement_id) AS accounts,
       (SELECT coalesce(json_agg(json_build_object(
                   'activity_id', h.activity_id, 'kind', h.kind, 'at', h.at_utc, 'channel', h.channel,
                   'outcome', h.outcome, 'promise', h.promise, 'violation', h.violation)
               ORDER BY h.at DESC, h.activity_id), '[]')
        FROM (SELECT ac.activity_id, ac.kind, ac.at, ac.at AT TIME ZONE 'UTC' AS at_utc, ac.channel,
                     ac.outcome, ac.promise, ac.violation
              FROM activities AS ac WHERE ac.placement_id = found.placement_id
              ORDER BY ac.at DESC, ac.activity_id LIMIT $8) AS h) AS history,
       (SELECT count(*) FROM audited) AS audited
FROM holder LEFT JOIN found ON true
"""


@dataclass(frozen=True)
class CaseRead:
    """What the statement found: who holds the token, the case if it is placed with the holder's
    agency (None otherwise), and how many audit rows it wrote (0 or 1)."""

    holder: TokenHolder
    case: dict[str, Any] | None
    accounts: list[dict[str, Any]]
    history: list[dict[str, Any]]
    audited: int


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


class CaseReads:
    """Reads cases for agencies over ``engine``'s pool, one statement per read.

    The engine should not ping its connections as they leave the pool (three round trips with
    asyncpg: begin, ``;``, rollback): a read that finds its connection lost (after a database
    restart) invalidates it and runs once more on a new one. Should the lost statement have been
    committed all the same, the read is audited twice, never not at all.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def aclose(self) -> None:
        await self.engine.dispose()

    async def read(
        self,
        token_hash: bytes,
        case_id: str,
        *,
        now: datetime,
        audit: bool,
        fields: tuple[str, ...],
        route: str,
        request_id: str | None,
        history_limit: int,
    ) -> CaseRead | None:
        """The read of ``case_id`` with the token ``token_hash``; None if no such token is held."""
        arguments = (token_hash, case_id, now, audit, list(fields), route, request_id, history_limit)
        for attempt in range(2):
            try:
                async with pooled_driver(self.engine) as driver:
                    row = await driver.fetchrow(_READ, *arguments)
                break
            except LOST_CONNECTION:  # the connection was discarded: once more on another
                if attempt:
                    raise
        if row is None:
            return None
        holder = TokenHolder(
            client_id=row["client_id"],
            agency_id=row["agency_id"],
            token_generation=row["token_generation"],
            client_generation=row["client_generation"],
            revoked=row["revoked"],
            agency_active=row["agency_active"],
            expires_at=row["expires_at"],
        )
        if row["placement_id"] is None:
            return CaseRead(holder, None, [], [], int(row["audited"]))
        case: dict[str, Any] = {
            "placement_id": row["placement_id"],
            "case_id": row["case_id"],
            "placed_on": row["placed_on"],
            "ends_on": row["ends_on"],
            "stage": row["stage"],
            "dpd": row["dpd"],
            "past_due_minor": row["past_due_minor"],
            "currency": row["currency"],
            "debtor": row["debtor"],
        }
        history = [{**activity, "at": _utc(activity["at"])} for activity in row["history"]]
        return CaseRead(holder, case, list(row["accounts"]), history, int(row["audited"]))

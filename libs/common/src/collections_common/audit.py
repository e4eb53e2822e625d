"""The audit of personal-data reads (DOMAIN.md sections 7 and 9): who read which fields of whom, when.

A route that answers personal data (names, national IDs, phones, e-mails, addresses) records the
read with :func:`record_reads` in the same transaction as the query that read it, so a read
that is answered is a read that is recorded. The rows go to the runtime's ``personal_data_reads``
table, which every service's migrations create.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from starlette.requests import Request

from collections_common.auth import StaffPrincipal
from collections_common.request_ids import request_id_of
from collections_common.runtime.tables import personal_data_reads

__all__ = ["Actor", "ActorKind", "PersonalDataRead", "reads_of", "record_reads", "route_of"]


class ActorKind(StrEnum):
    STAFF = "staff"
    AGENCY_CLIENT = "agency_client"


@dataclass(frozen=True)
class Actor:
    """Who read: a member of staff, or an agency's API client."""

    kind: ActorKind
    id: str
    roles: tuple[str, ...] = ()
    agency_id: str | None = None

    @classmethod
    def staff(cls, principal: StaffPrincipal) -> Actor:
        return cls(ActorKind.STAFF, principal.subject, tuple(sorted(principal.roles)))

    @classmethod
    def agency_client(cls, client_id: str, agency_id: str) -> Actor:
        return cls(ActorKind.AGENCY_CLIENT, client_id, (), agency_id)


@dataclass(frozen=True)
class PersonalDataRead:
    """One subject's personal fields, read by ``actor`` through ``route``."""

    actor: Actor
    subject_kind: str
    subject_id: str
    fields: tuple[str, ...]
    route: str
    request_id: str | None = None


def route_of(request: Request) -> str:
    """The method and route template of ``request`` (``GET /v1/cases/{case_id}``), not its values."""
    route = request.scope.get("route")
    path = getattr(route, "path", None) or request.url.path
    return f"{request.method} {path}"


def reads_of(
    request: Request, actor: Actor, subject_kind: str, subject_ids: Iterable[str], fields: Iterable[str]
) -> list[PersonalDataRead]:
    """The reads of ``fields`` of each of ``subject_ids`` answered to ``request``."""
    chosen = tuple(sorted(set(fields)))
    route = route_of(request)
    request_id = request_id_of(request.scope)
    return [
        PersonalDataRead(actor, subject_kind, subject_id, chosen, route, request_id)
        for subject_id in subject_ids
    ]


async def record_reads(
    executor: AsyncSession | AsyncConnection, reads: Iterable[PersonalDataRead], *, at: datetime | None = None
) -> int:
    """Insert ``reads`` in the caller's transaction (one statement); returns how many were written.

    Fields are names (``national_id``), never values. Reads with no fields are not recorded.
    """
    when = at or datetime.now(UTC)
    if when.tzinfo is None:
        raise ValueError("audit times are timezone-aware")
    rows = [
        {
            "at": when,
            "actor_kind": read.actor.kind.value,
            "actor_id": read.actor.id,
            "actor_roles": list(read.actor.roles),
            "agency_id": read.actor.agency_id,
            "subject_kind": read.subject_kind,
            "subject_id": read.subject_id,
            "fields": list(read.fields),
            "route": read.route,
            "request_id": read.request_id,
        }
        for read in reads
        if read.fields
    ]
    if rows:
        await executor.execute(insert(personal_data_reads), rows)
    return len(rows)

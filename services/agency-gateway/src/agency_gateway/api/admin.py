"""Bank side (staff tokens, DOMAIN.md section 9): the agency registry, API clients, the audit log."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from agency_gateway.adapters.audit_log import audit_page
from agency_gateway.adapters.registry import Agencies, Clients
from agency_gateway.adapters.secrets import SecretHasher, new_client_id, new_secret
from agency_gateway.api.schemas import (
    AgenciesPublic,
    AgencyCreate,
    AgencyDeactivation,
    AgencyPublic,
    AgencyReview,
    AuditPublic,
    AuditRecordPublic,
    ClientPublic,
    ClientSecretPublic,
    ClientsPublic,
    Identifier,
)
from agency_gateway.domain.agencies import Agency
from agency_gateway.domain.cursor import decode_cursor, encode_cursor
from agency_gateway.domain.errors import AgencyExists, UnknownAgency, UnknownClient
from collections_common.api import SessionDep, UnitOfWorkDep
from collections_common.auth import Role, StaffPrincipal, require_roles
from collections_common.events import EventTypes, Topics, new_event
from collections_common.events.agency import AgencyRegistered, AgencyUpdated
from collections_common.problems import Problem
from collections_common.uow import UnitOfWork

log = logging.getLogger(__name__)

router = APIRouter(prefix="/admin/v1", tags=["admin"])

AgencyAdmin = Annotated[StaffPrincipal, Depends(require_roles(Role.AGENCY_ADMIN))]
Auditor = Annotated[StaffPrincipal, Depends(require_roles(Role.AUDITOR))]
AgencyId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\u0000-\u001f\u007f]+$")]
ClientId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_]+$")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "no such agency or client"}
}


def _public(agency: Agency) -> AgencyPublic:
    return AgencyPublic(
        agency_id=agency.agency_id,
        name=agency.name,
        regions=list(agency.regions),
        capacity=agency.capacity,
        active=agency.active,
        contract_start=agency.contract_start,
        contract_end=agency.contract_end,
        review_due=agency.review_due,
        may_take_new_work=agency.may_take_new_work(date.today()),
    )


def _publish(uow: UnitOfWork, request: Request, agency: Agency, *, registered: bool) -> None:
    fields = _public(agency).model_dump(exclude={"may_take_new_work"})
    data = AgencyRegistered(**fields) if registered else AgencyUpdated(**fields)
    kind = EventTypes.AGENCY_REGISTERED if registered else EventTypes.AGENCY_UPDATED
    source: str = request.app.state.settings.source
    uow.outbox.add(Topics.AGENCY, new_event(kind, source, agency.agency_id, data), key=agency.agency_id)


async def _agency(uow: UnitOfWork, agency_id: str) -> Agency:
    agency = await Agencies(uow.session).get(agency_id, for_update=True)
    if agency is None:
        raise UnknownAgency()
    return agency


@router.post(
    "/agencies",
    response_model=AgencyPublic,
    status_code=201,
    responses={409: {"model": Problem, "description": "the agency id is taken"}},
)
async def register_agency(
    *, body: AgencyCreate, uow: UnitOfWorkDep, staff: AgencyAdmin, request: Request
) -> AgencyPublic:
    """Register a vetted agency (published as collections.agency.registered)."""
    agency = Agency(
        agency_id=body.agency_id,
        name=body.name,
        regions=tuple(body.regions),
        capacity=body.capacity,
        active=body.active,
        contract_start=body.contract_start,
        contract_end=body.contract_end,
        review_due=body.review_due,
    )
    if not await Agencies(uow.session).add(agency, by=staff.subject):
        raise AgencyExists()
    _publish(uow, request, agency, registered=True)
    await uow.commit()
    log.info("agency registered", extra={"agency_id": agency.agency_id, "by": staff.subject})
    return _public(agency)


@router.get("/agencies", response_model=AgenciesPublic)
async def list_agencies(
    *,
    session: SessionDep,
    staff: AgencyAdmin,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AgenciesPublic:
    """The registry, by agency id."""
    found = await Agencies(session).page(after=cursor or None, limit=limit + 1)
    page = found[:limit]
    return AgenciesPublic(
        items=[_public(agency) for agency in page],
        next_cursor=page[-1].agency_id if len(found) > limit else None,
    )


@router.get("/agencies/{agency_id}", response_model=AgencyPublic, responses=NOT_FOUND)
async def get_agency(*, agency_id: AgencyId, session: SessionDep, staff: AgencyAdmin) -> AgencyPublic:
    agency = await Agencies(session).get(agency_id)
    if agency is None:
        raise UnknownAgency()
    return _public(agency)


@router.post("/agencies/{agency_id}/review", response_model=AgencyPublic, responses=NOT_FOUND)
async def review_agency(
    *, agency_id: AgencyId, body: AgencyReview, uow: UnitOfWorkDep, staff: AgencyAdmin, request: Request
) -> AgencyPublic:
    """Record the annual review: the next review date and any changed terms (agency.updated)."""
    agency = (await _agency(uow, agency_id)).reviewed(
        review_due=body.review_due,
        capacity=body.capacity,
        regions=None if body.regions is None else tuple(body.regions),
        contract_end=body.contract_end,
    )
    await Agencies(uow.session).save(agency, by=staff.subject)
    _publish(uow, request, agency, registered=False)
    await uow.commit()
    log.info("agency reviewed", extra={"agency_id": agency_id, "by": staff.subject})
    return _public(agency)


@router.post("/agencies/{agency_id}/deactivate", response_model=AgencyPublic, responses=NOT_FOUND)
async def deactivate_agency(
    *, agency_id: AgencyId, body: AgencyDeactivation, uow: UnitOfWorkDep, staff: AgencyAdmin, request: Request
) -> AgencyPublic:
    """Deactivate: its clients lose access at once, it gets no new work (agency.updated)."""
    agency = (await _agency(uow, agency_id)).deactivated()
    await Agencies(uow.session).save(agency, by=staff.subject)
    _publish(uow, request, agency, registered=False)
    await uow.commit()
    log.info("agency deactivated", extra={"agency_id": agency_id, "by": staff.subject, "reason": body.reason})
    return _public(agency)


@router.get("/agencies/{agency_id}/clients", response_model=ClientsPublic, responses=NOT_FOUND)
async def list_clients(*, agency_id: AgencyId, session: SessionDep, staff: AgencyAdmin) -> ClientsPublic:
    if await Agencies(session).get(agency_id) is None:
        raise UnknownAgency()
    rows = await Clients(session).of_agency(agency_id)
    return ClientsPublic(
        items=[
            ClientPublic(
                client_id=row.client_id,
                agency_id=agency_id,
                generation=row.generation,
                created_at=row.created_at,
                revoked_at=row.revoked_at,
            )
            for row in rows
        ]
    )


@router.post(
    "/agencies/{agency_id}/clients", response_model=ClientSecretPublic, status_code=201, responses=NOT_FOUND
)
async def issue_client(
    *, agency_id: AgencyId, uow: UnitOfWorkDep, staff: AgencyAdmin, request: Request, response: Response
) -> ClientSecretPublic:
    """A new API client; its secret is in this answer only (stored as an argon2id hash)."""
    await _agency(uow, agency_id)
    hasher: SecretHasher = request.app.state.secret_hasher
    client_id, secret = new_client_id(), new_secret()
    await Clients(uow.session).add(client_id, agency_id, await hasher.hash(secret), by=staff.subject)
    await uow.commit()
    log.info(
        "agency client issued", extra={"agency_id": agency_id, "client_id": client_id, "by": staff.subject}
    )
    response.headers["Cache-Control"] = "no-store"
    return ClientSecretPublic(client_id=client_id, agency_id=agency_id, client_secret=secret, generation=1)


@router.post(
    "/agencies/{agency_id}/clients/{client_id}/rotate", response_model=ClientSecretPublic, responses=NOT_FOUND
)
async def rotate_client(
    *,
    agency_id: AgencyId,
    client_id: ClientId,
    uow: UnitOfWorkDep,
    staff: AgencyAdmin,
    request: Request,
    response: Response,
) -> ClientSecretPublic:
    """A new secret; the old one and every token issued with it stop working at once."""
    hasher: SecretHasher = request.app.state.secret_hasher
    secret = new_secret()
    generation = await Clients(uow.session).rotate(client_id, agency_id, await hasher.hash(secret))
    if generation is None:
        raise UnknownClient()
    await uow.commit()
    log.info(
        "agency client rotated", extra={"agency_id": agency_id, "client_id": client_id, "by": staff.subject}
    )
    response.headers["Cache-Control"] = "no-store"
    return ClientSecretPublic(
        client_id=client_id, agency_id=agency_id, client_secret=secret, generation=generation
    )


@router.delete(
    "/agencies/{agency_id}/clients/{client_id}", status_code=204, response_class=Response, responses=NOT_FOUND
)
async def revoke_client(
    *, agency_id: AgencyId, client_id: ClientId, uow: UnitOfWorkDep, staff: AgencyAdmin
) -> Response:
    """Revoke: the client and its tokens stop working at once."""
    if not await Clients(uow.session).revoke(client_id, agency_id):
        raise UnknownClient()
    await uow.commit()
    log.info(
        "agency client revoked", extra={"agency_id": agency_id, "client_id": client_id, "by": staff.subject}
    )
    return Response(status_code=204)


@router.get("/audit", response_model=AuditPublic)
async def query_audit(
    *,
    session: SessionDep,
    staff: Auditor,
    agency_id: Annotated[Identifier | None, Query()] = None,
    case_id: Annotated[Identifier | None, Query(description="the case (subject) read")] = None,
    actor_id: Annotated[Identifier | None, Query(description="the API client or staff subject")] = None,
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPublic:
    """Who read which personal fields of which case, when (role auditor only)."""
    rows = await audit_page(
        session,
        after_id=decode_cursor(cursor),
        limit=limit + 1,
        agency_id=agency_id,
        subject_id=case_id,
        actor_id=actor_id,
        since=since if since is None or since.tzinfo else since.replace(tzinfo=UTC),
        until=until if until is None or until.tzinfo else until.replace(tzinfo=UTC),
    )
    page = rows[:limit]
    return AuditPublic(
        items=[
            AuditRecordPublic(
                at=row.at,
                actor_kind=row.actor_kind,
                actor_id=row.actor_id,
                agency_id=row.agency_id,
                subject_kind=row.subject_kind,
                subject_id=row.subject_id,
                fields=list(row.fields),
                route=row.route,
                request_id=row.request_id,
            )
            for row in page
        ],
        next_cursor=encode_cursor(page[-1].id) if len(rows) > limit else None,
    )

"""``/v1/cases``: an agency's placed cases, pulled incrementally, and one case; every read of
personal data is audited in the transaction that reads it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.security.http import HTTPAuthorizationCredentials

from agency_gateway.adapters.case_reads import CaseRead, CaseReads
from agency_gateway.adapters.cases import PlacedCase, Placements
from agency_gateway.adapters.secrets import token_hash
from agency_gateway.api.deps import AgencyClient, AgencyClientDep, agency_bearer, authorise, bearer_token
from agency_gateway.api.limits import RateLimiter, TokenClients
from agency_gateway.api.schemas import (
    AccountPublic,
    ActivityPublic,
    CasePublic,
    CasesPublic,
    CaseSummaryPublic,
    ContactPointPublic,
    DebtorPublic,
    PromisePublic,
)
from agency_gateway.domain.cursor import decode_cursor, encode_cursor
from agency_gateway.domain.errors import CaseNotFound
from agency_gateway.metrics import AUDIT_RECORDS
from collections_common.api import UnitOfWorkDep
from collections_common.audit import Actor, reads_of, record_reads, route_of
from collections_common.events._base import PRINTABLE_PATTERN
from collections_common.masking import MASK
from collections_common.problems import Problem, ProblemError
from collections_common.request_ids import request_id_of
from collections_common.uow import UnitOfWork

router = APIRouter(prefix="/v1/cases", tags=["cases"])

CASE_ID_MAX = 64
CaseId = Annotated[
    str, Path(min_length=1, max_length=CASE_ID_MAX, pattern=PRINTABLE_PATTERN, description="the case's id")
]
_CASE_ID = re.compile(PRINTABLE_PATTERN)
CASE_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "no case with this id is placed with your agency"}
}
SUMMARY_FIELDS = ("name",)
DETAIL_FIELDS = ("contact_points", "name", "national_id")


def masked_national_id(last4: str | None) -> str | None:
    """What an agency sees of the national ID: only its last four characters (DOMAIN.md section 7)."""
    if not last4:
        return None
    return MASK * 4 + last4[-4:]


async def audit(
    uow: UnitOfWork, request: Request, client: AgencyClient, case_ids: list[str], fields: tuple[str, ...]
) -> None:
    actor = Actor.agency_client(client.client_id, client.agency_id)
    written = await record_reads(uow.session, reads_of(request, actor, "case", case_ids, fields))
    request.state.audit_records = getattr(request.state, "audit_records", 0) + written


def counted_audit(request: Request) -> None:
    AUDIT_RECORDS.inc(getattr(request.state, "audit_records", 0))


def summary(case: PlacedCase) -> CaseSummaryPublic:
    return CaseSummaryPublic(
        case_id=case.case_id,
        placement_id=case.placement_id,
        debtor_name=str(case.debtor.get("name", "")),
        region=case.debtor.get("region"),
        stage=case.stage,
        dpd=case.dpd,
        past_due_minor=case.past_due_minor,
        currency=case.currency,
        placed_on=case.placed_on,
        ends_on=case.ends_on,
        changed_at=case.changed_at,
    )


def detail_of(read: CaseRead) -> CasePublic:
    """The answer to a read of a case placed with the reader's agency."""
    case = read.case
    assert case is not None
    debtor = case["debtor"]
    return CasePublic(
        case_id=case["case_id"],
        placement_id=case["placement_id"],
        region=debtor.get("region"),
        stage=case["stage"],
        dpd=case["dpd"],
        past_due_minor=case["past_due_minor"],
        currency=case["currency"],
        placed_on=case["placed_on"],
        ends_on=case["ends_on"],
        debtor=DebtorPublic(
            name=str(debtor.get("name", "")),
            national_id_masked=masked_national_id(debtor.get("national_id_last4")),
            contact_points=[
                ContactPointPublic(kind=point["kind"], value=point["value"])
                for point in debtor.get("contact_points", [])
            ],
            language=debtor.get("language"),
        ),
        accounts=[AccountPublic(**account) for account in read.accounts],
        history=[
            ActivityPublic(
                activity_id=row["activity_id"],
                kind=row["kind"],
                at=row["at"],
                channel=row["channel"],
                outcome=row["outcome"],
                promise=None if row["promise"] is None else PromisePublic.model_validate(row["promise"]),
                violation=row["violation"],
            )
            for row in read.history
        ],
    )


@router.get("", response_model=CasesPublic, responses={400: {"model": Problem, "description": "bad cursor"}})
async def pull_cases(
    *,
    client: AgencyClientDep,
    uow: UnitOfWorkDep,
    request: Request,
    cursor: Annotated[
        str | None, Query(max_length=64, description="next_cursor of the previous pull")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CasesPublic:
    """The agency's placed cases new or changed since ``cursor``, oldest change first."""
    after = decode_cursor(cursor)
    found = await Placements(uow.session).changed_since(client.agency_id, after, limit + 1)
    page = found[:limit]
    await audit(uow, request, client, [case.case_id for case in page], SUMMARY_FIELDS)
    await uow.commit()
    counted_audit(request)
    return CasesPublic(
        items=[summary(case) for case in page],
        next_cursor=encode_cursor(page[-1].sequence if page else after),
        has_more=len(found) > limit,
    )


async def case_read(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(agency_bearer)]
) -> CaseRead:
    """The read of the case named in the path by the caller, authorised (401, 403, 429 as for
    every agency route) and, if the case is placed with the caller's agency, audited: one
    statement, so one round trip, once the caller's token has been seen before.

    The request is counted against the rate of the token's client before the statement (and given
    back if the token is refused), so that the statement may write the audit row of the read.
    The token's first request is counted after it (the client is not known yet) and then read
    again with its audit row."""
    token = bearer_token(request)
    key = token_hash(token)
    state = request.app.state
    limiter: RateLimiter = state.rate_limiter
    known: TokenClients = state.token_clients
    reads: CaseReads = state.case_reads
    route = route_of(request)
    request_id = request_id_of(request.scope)
    limit: int = state.settings.history_limit
    case_id = str(request.path_params.get("case_id", ""))
    if len(case_id) > CASE_ID_MAX or not _CASE_ID.fullmatch(case_id):
        case_id = ""  # no case has it; FastAPI answers 422 once the caller is authorised
    client_id = known.get(key)
    counted = client_id is not None and limiter.allow(client_id) == 0
    now = datetime.now(UTC)
    found = await reads.read(
        key,
        case_id,
        now=now,
        audit=counted,
        fields=DETAIL_FIELDS,
        route=route,
        request_id=request_id,
        history_limit=limit,
    )
    try:
        client = authorise(
            request, None if found is None else found.holder, now=now, rate_limited=not counted
        )
    except ProblemError:
        if counted and client_id is not None:
            limiter.refund(client_id)
        raise
    known.remember(key, client.client_id)
    if found is not None and found.case is not None and not counted:
        found = await reads.read(
            key,
            case_id,
            now=now,
            audit=True,
            fields=DETAIL_FIELDS,
            route=route,
            request_id=request_id,
            history_limit=limit,
        )
    assert found is not None
    AUDIT_RECORDS.inc(found.audited)
    return found


CaseReadDep = Annotated[CaseRead, Depends(case_read)]


@router.get("/{case_id}", response_model=CasePublic, responses=CASE_NOT_FOUND)
async def get_case(*, case_id: CaseId, read: CaseReadDep) -> Response:
    """One case placed with the agency: what it needs to work it, and its latest reports."""
    if read.case is None:
        raise CaseNotFound()
    return Response(detail_of(read).model_dump_json(), media_type="application/json")

"""``/v1/cases``: an agency's placed cases, pulled incrementally, and one case; every read of
personal data is audited in the transaction that reads it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from agency_gateway.adapters.cases import AccountFigures, Activities, PlacedCase, Placements
from agency_gateway.api.deps import AgencyClient, AgencyClientDep
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
from collections_common.audit import Actor, reads_of, record_reads
from collections_common.events._base import PRINTABLE_PATTERN
from collections_common.masking import MASK
from collections_common.problems import Problem
from collections_common.uow import UnitOfWork

router = APIRouter(prefix="/v1/cases", tags=["cases"])

CaseId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=PRINTABLE_PATTERN, description="the case's id")
]
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


def detail(case: PlacedCase, accounts: list[AccountFigures], history: list[Any]) -> CasePublic:
    debtor = case.debtor
    return CasePublic(
        case_id=case.case_id,
        placement_id=case.placement_id,
        region=debtor.get("region"),
        stage=case.stage,
        dpd=case.dpd,
        past_due_minor=case.past_due_minor,
        currency=case.currency,
        placed_on=case.placed_on,
        ends_on=case.ends_on,
        debtor=DebtorPublic(
            name=str(debtor.get("name", "")),
            national_id_masked=masked_national_id(debtor.get("national_id_last4")),
            contact_points=[
                ContactPointPublic(kind=point["kind"], value=point["value"])
                for point in debtor.get("contact_points", [])
            ],
            language=debtor.get("language"),
        ),
        accounts=[
            AccountPublic(
                account_id=account.account_id,
                stage=account.stage,
                dpd=account.dpd,
                past_due_minor=account.past_due_minor,
                currency=account.currency,
            )
            for account in accounts
        ],
        history=[
            ActivityPublic(
                activity_id=row.activity_id,
                kind=row.kind,
                at=row.at,
                channel=row.channel,
                outcome=row.outcome,
                promise=None if row.promise is None else PromisePublic.model_validate(row.promise),
                violation=row.violation,
            )
            for row in history
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


@router.get("/{case_id}", response_model=CasePublic, responses=CASE_NOT_FOUND)
async def get_case(
    *, case_id: CaseId, client: AgencyClientDep, uow: UnitOfWorkDep, request: Request
) -> CasePublic:
    """One case placed with the agency: what it needs to work it, and its latest reports."""
    cases = Placements(uow.session)
    case = await cases.visible(client.agency_id, case_id)
    if case is None:
        raise CaseNotFound()
    accounts = (await cases.accounts_of([case.placement_id])).get(case.placement_id, [])
    limit: int = request.app.state.settings.history_limit
    history = list(await Activities(uow.session).recent(case.placement_id, limit))
    await audit(uow, request, client, [case.case_id], DETAIL_FIELDS)
    await uow.commit()
    counted_audit(request)
    return detail(case, accounts, history)

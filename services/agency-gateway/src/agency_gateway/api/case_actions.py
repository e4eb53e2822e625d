"""What an agency does on a case: ask for a contact permit, report an activity, give the case
back. Each write takes an ``Idempotency-Key``: a repeat answers the first answer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from agency_gateway.adapters.cases import RETURNED, Activities, Permits, PlacedCase, Placements
from agency_gateway.adapters.contact_permits import ContactPermits
from agency_gateway.adapters.registry import Agencies
from agency_gateway.api.cases import CASE_NOT_FOUND, CaseId
from agency_gateway.api.deps import AgencyClientDep, IdempotencyKey, idempotent
from agency_gateway.api.schemas import (
    ActivityCreate,
    ActivityReceiptPublic,
    PermitCreate,
    PermitPublic,
    ReturnCreate,
    ReturnPublic,
)
from agency_gateway.domain.activities import Report, ReportedPayment, check_report, violation_of
from agency_gateway.domain.errors import CaseNotFound, InvalidReport
from agency_gateway.metrics import PERMITS, REPORTS
from collections_common.api import UnitOfWorkDep
from collections_common.events import EventTypes, Topics, new_event
from collections_common.events.agency import ActivityReported, CaseReturned, ReportedPromise
from collections_common.uow import UnitOfWork

router = APIRouter(prefix="/v1/cases", tags=["case actions"])

WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **CASE_NOT_FOUND,
    422: {"description": "the body breaks a rule, or the Idempotency-Key was used with another request"},
}
POINT_KINDS = {
    "call": "phone",
    "ivr": "phone",
    "sms": "phone",
    "email": "email",
    "visit": "address",
    "letter": "address",
}


def _replay(status_code: int, response: dict[str, Any]) -> JSONResponse:
    return JSONResponse(response, status_code=status_code, headers={"Idempotent-Replayed": "true"})


async def _placed(uow: UnitOfWork, agency_id: str, case_id: str, *, for_update: bool = False) -> PlacedCase:
    case = await Placements(uow.session).visible(agency_id, case_id, for_update=for_update)
    if case is None:
        raise CaseNotFound()
    return case


def _check_contact_point(case: PlacedCase, channel: str, contact_point: str) -> None:
    kind = POINT_KINDS.get(channel)
    if kind is None:
        raise InvalidReport(f"agencies may not use the channel {channel!r}")
    points = case.debtor.get("contact_points", [])
    if kind == "address":
        usable = contact_point == "address" and any(point.get("kind") == "address" for point in points)
    else:
        usable = any(point.get("kind") == kind and point.get("value") == contact_point for point in points)
    if not usable:
        raise InvalidReport(f"contact_point is not one of this case's {kind} contact points")


@router.post(
    "/{case_id}/contact-permits",
    response_model=PermitPublic,
    status_code=201,
    responses={**WRITE_RESPONSES, 201: {"description": "the decision (a refusal names its rule)"}},
)
async def request_permit(
    *,
    case_id: CaseId,
    body: PermitCreate,
    client: AgencyClientDep,
    uow: UnitOfWorkDep,
    request: Request,
    idempotency_key: IdempotencyKey,
) -> PermitPublic | JSONResponse:
    """Ask before a contact (DOMAIN.md section 5, with the agency as the party). If the contact
    service does not answer in time, the answer is a refusal with rule ``contact_service_unavailable``."""
    once = await idempotent(uow, request, client, idempotency_key, body)
    if once.first is not None:
        return _replay(once.first.status_code, once.first.response)
    case = await _placed(uow, client.agency_id, case_id)
    _check_contact_point(case, body.channel, body.contact_point)
    asked: dict[str, Any] = {
        "account_id": case.account_id,
        "channel": body.channel,
        "contact_point": body.contact_point,
        "party": {"kind": "agency", "id": client.agency_id},
        "purpose": body.purpose,
    }
    if body.autodialled is not None:
        asked["autodialled"] = body.autodialled
    if body.at is not None:
        asked["at"] = body.at.isoformat()
    permits: ContactPermits = request.app.state.contact_permits
    decision = await permits.request(asked)
    requested_at = body.at or datetime.now(UTC)
    await Permits(uow.session).add(
        permit_id=decision.permit_id,
        agency_id=client.agency_id,
        client_id=client.client_id,
        placement_id=case.placement_id,
        channel=body.channel,
        allowed=decision.allowed,
        rule=decision.rule,
        requested_at=requested_at,
        expires_at=decision.expires_at,
    )
    answer = PermitPublic(
        permit_id=decision.permit_id,
        allowed=decision.allowed,
        expires_at=decision.expires_at,
        rule=decision.rule,
        reason=decision.reason,
        retry_after=decision.retry_after,
    )
    await once.remember(201, answer)
    await uow.commit()
    PERMITS.labels(str(decision.allowed).lower(), decision.rule or "").inc()
    return answer


@router.post(
    "/{case_id}/activities",
    response_model=ActivityReceiptPublic,
    status_code=201,
    responses=WRITE_RESPONSES,
)
async def report_activity(
    *,
    case_id: CaseId,
    body: ActivityCreate,
    client: AgencyClientDep,
    uow: UnitOfWorkDep,
    request: Request,
    idempotency_key: IdempotencyKey,
) -> ActivityReceiptPublic | JSONResponse:
    """Report a contact (with its outcome), a visit, a promise to pay or a payment arranged.
    A contact that broke a rule is kept, flagged in ``violation`` and counted against the agency."""
    once = await idempotent(uow, request, client, idempotency_key, body)
    if once.first is not None:
        return _replay(once.first.status_code, once.first.response)
    case = await _placed(uow, client.agency_id, case_id)
    promise = (
        None
        if body.promise is None
        else ReportedPayment(body.promise.promised_date, body.promise.amount_minor, body.promise.currency)
    )
    report = Report(
        kind=body.kind,
        at=body.at,
        channel=body.channel,
        outcome=body.outcome,
        permit_id=body.permit_id,
        promise=promise,
    )
    check_report(report, placed_on=case.placed_on, now=datetime.now(UTC))
    permit = (
        None
        if body.permit_id is None
        else await Permits(uow.session).on_placement(body.permit_id, case.placement_id)
    )
    violation = violation_of(report, permit)
    activity_id = str(uuid.uuid4())
    await Activities(uow.session).add(
        activity_id=activity_id,
        agency_id=client.agency_id,
        client_id=client.client_id,
        placement_id=case.placement_id,
        case_id=case.case_id,
        kind=body.kind,
        at=body.at,
        channel="visit" if body.kind == "visit" else body.channel,
        outcome=body.outcome,
        permit_id=body.permit_id,
        promise=None if body.promise is None else body.promise.model_dump(mode="json"),
        violation=violation,
    )
    optional: dict[str, Any] = {
        "channel": "visit" if body.kind == "visit" else body.channel,
        "outcome": body.outcome,
        "permit_id": body.permit_id,
        "violation": violation,
        "promise": None
        if promise is None
        else ReportedPromise(
            promised_date=promise.promised_date, amount_minor=promise.amount_minor, currency=promise.currency
        ),
    }
    reported = ActivityReported(
        activity_id=activity_id,
        agency_id=client.agency_id,
        case_id=case.case_id,
        placement_id=case.placement_id,
        account_id=case.account_id,
        customer_id=case.customer_id,
        kind=body.kind,
        at=body.at,
        **{name: value for name, value in optional.items() if value is not None},
    )
    source: str = request.app.state.settings.source
    uow.outbox.add(
        Topics.AGENCY,
        new_event(EventTypes.ACTIVITY_REPORTED, source, case.case_id, reported),
        key=case.customer_id,
    )
    answer = ActivityReceiptPublic(
        activity_id=activity_id, case_id=case.case_id, kind=body.kind, violation=violation
    )
    await once.remember(201, answer)
    await uow.commit()
    REPORTS.labels(body.kind, "true" if violation else "false").inc()
    return answer


@router.post(
    "/{case_id}/return",
    response_model=ReturnPublic,
    responses=WRITE_RESPONSES,
)
async def return_case(
    *,
    case_id: CaseId,
    body: ReturnCreate,
    client: AgencyClientDep,
    uow: UnitOfWorkDep,
    request: Request,
    idempotency_key: IdempotencyKey,
) -> ReturnPublic | JSONResponse:
    """Give the case back, with a reason; the agency loses access to it at once."""
    once = await idempotent(uow, request, client, idempotency_key, body)
    if once.first is not None:
        return _replay(once.first.status_code, once.first.response)
    case = await _placed(uow, client.agency_id, case_id, for_update=True)
    sequence = await Agencies(uow.session).next_sequence(client.agency_id)
    await Placements(uow.session).end(
        case.placement_id, status=RETURNED, reason=body.reason, sequence=sequence
    )
    now = datetime.now(UTC)
    returned = CaseReturned(
        agency_id=client.agency_id,
        case_id=case.case_id,
        placement_id=case.placement_id,
        account_id=case.account_id,
        customer_id=case.customer_id,
        reason=body.reason,
        at=now,
    )
    source: str = request.app.state.settings.source
    uow.outbox.add(
        Topics.AGENCY,
        new_event(EventTypes.CASE_RETURNED, source, case.case_id, returned),
        key=case.customer_id,
    )
    answer = ReturnPublic(case_id=case.case_id, placement_id=case.placement_id, returned_at=now)
    await once.remember(200, answer)
    await uow.commit()
    REPORTS.labels("return", "false").inc()
    return answer

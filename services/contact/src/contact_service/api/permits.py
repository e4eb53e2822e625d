"""``/v1/contact-permits`` and ``/v1/inbound-contacts``: the permit API of DOMAIN.md section 5."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from collections_common.api import UnitOfWorkDep
from collections_common.problems import Problem
from contact_service.adapters.permits import PermitRow
from contact_service.api.deps import ContactConfigDep, PermitCaller
from contact_service.api.schemas import (
    InboundCreate,
    InboundPublic,
    OutcomeCreate,
    PartyPublic,
    PermitCreate,
    PermitPublic,
)
from contact_service.domain.compliance import PermitRequest, Rule
from contact_service.domain.contact import Outcome, Party, PartyKind
from contact_service.metrics import PERMIT_SECONDS
from contact_service.permits import OutcomeReport, count_decision, record_inbound, record_outcome

router = APIRouter(tags=["permits"])

PermitId = Annotated[str, Path(min_length=1, max_length=64, description="the permit's id")]
PROBLEMS: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "unknown account or permit"},
    409: {"model": Problem, "description": "the permit already has a different outcome, or was refused"},
}


def permit_public(row: PermitRow, now: datetime | None = None) -> PermitPublic:
    return PermitPublic(
        permit_id=row.permit_id,
        customer_id=row.customer_id,
        account_id=row.account_id,
        channel=row.channel,
        party=PartyPublic(kind=row.party_kind, id=row.party_id),
        at=row.at,
        allowed=row.allowed,
        expires_at=row.expires_at,
        rule=row.rule,
        reason=Rule(row.rule).reason if row.rule is not None else None,
        retry_after=row.retry_after,
        outcome=row.outcome_as_of(now or datetime.now(UTC)),
        outcome_at=row.outcome_at,
        recording_ref=row.recording_ref,
    )


@router.post("/v1/contact-permits", status_code=201, response_model=PermitPublic, responses=PROBLEMS)
async def create_permit(*, body: PermitCreate, config: ContactConfigDep, caller: PermitCaller) -> Response:
    """Decide a contact before it happens, under the configured pack, and record the decision."""
    started = time.perf_counter()
    request = PermitRequest(
        account_id=body.account_id,
        channel=body.channel,
        contact_point=body.contact_point,
        at=body.at or datetime.now(UTC),
        party=Party(PartyKind(body.party.kind), body.party.id),
        autodialled=body.autodialled,
        purpose=body.purpose,
    )
    row = await config.reservations.reserve(request, requested_by=caller.subject)
    count_decision(row)
    PERMIT_SECONDS.observe(time.perf_counter() - started)
    # Serialised here once: FastAPI would validate the model again against response_model first.
    return Response(permit_public(row).model_dump_json(), status_code=201, media_type="application/json")


@router.post("/v1/contact-permits/{permit_id}/outcome", response_model=PermitPublic, responses=PROBLEMS)
async def report_outcome(
    *,
    permit_id: PermitId,
    body: OutcomeCreate,
    uow: UnitOfWorkDep,
    config: ContactConfigDep,
    caller: PermitCaller,
) -> PermitPublic:
    """Record what came of an allowed contact; the same outcome again answers as the first time."""
    row, _changed = await record_outcome(
        uow.session,
        uow.outbox,
        pack=config.pack,
        source=config.settings.source,
        permit_id=permit_id,
        report=OutcomeReport(Outcome(body.outcome), body.at, body.recording_ref, body.details_dict()),
        by=caller.subject,
    )
    await uow.commit()
    return permit_public(row)


@router.post("/v1/inbound-contacts", status_code=201, response_model=InboundPublic, responses=PROBLEMS)
async def create_inbound(
    *, body: InboundCreate, uow: UnitOfWorkDep, config: ContactConfigDep, caller: PermitCaller
) -> InboundPublic:
    """Record a contact the debtor made: a conversation, never an attempt."""
    row = await record_inbound(
        uow.session,
        uow.outbox,
        source=config.settings.source,
        account_id=body.account_id,
        channel=body.channel.value,
        contact_point=body.contact_point,
        at=body.at,
        outcome=Outcome(body.outcome),
        by=caller.subject,
    )
    await uow.commit()
    return InboundPublic(
        contact_id=row.contact_id,
        customer_id=row.customer_id,
        account_id=row.account_id,
        channel=row.channel,
        at=row.at,
        outcome=row.outcome,
    )

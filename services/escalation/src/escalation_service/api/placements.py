"""``/v1/placements``, ``/v1/agencies`` and ``/v1/decisions``: agency placements (supervisors),
the registry copy they are allocated from, and the decisions with their rules and facts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from collections_common.api import SessionDep, UnitOfWorkDep
from collections_common.auth import Role, StaffPrincipal
from collections_common.problems import Conflict, InvalidRequest, NotFound
from escalation_service import effects
from escalation_service.adapters.accounts import Accounts, BusinessClock
from escalation_service.adapters.decisions import Decisions
from escalation_service.adapters.placements import Agencies, Placements
from escalation_service.api.common import (
    ERRORS,
    Cursor,
    FilterId,
    Limit,
    ResourceId,
    SettingsDep,
    actor_of,
    decode_cursor,
    encode_cursor,
    staff,
)
from escalation_service.api.schemas import (
    AgenciesPublic,
    AgencyPublic,
    DecisionPublic,
    DecisionsPublic,
    PlacementPublic,
    PlacementRecall,
    PlacementsPublic,
)
from escalation_service.effects import Work

router = APIRouter(tags=["placements"])
Supervisor = Annotated[StaffPrincipal, staff(Role.SUPERVISOR)]


def _public(row: Any) -> PlacementPublic:
    return PlacementPublic.model_validate(
        {k: v for k, v in row._mapping.items() if k in PlacementPublic.model_fields}
    )


@router.get("/v1/placements", response_model=PlacementsPublic, responses=ERRORS)
async def list_placements(
    *,
    session: SessionDep,
    _: Supervisor,
    active: Annotated[bool | None, Query(description="true: not recalled; false: recalled")] = None,
    agency_id: FilterId = None,
    customer_id: FilterId = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> PlacementsPublic:
    """Placements, newest first."""
    rows, last = await Placements(session).page(
        active=active, agency_id=agency_id, customer_id=customer_id, before=decode_cursor(cursor), limit=limit
    )
    return PlacementsPublic(items=[_public(row) for row in rows], next_cursor=encode_cursor(last))


@router.get("/v1/placements/{placement_id}", response_model=PlacementPublic, responses=ERRORS)
async def get_placement(*, placement_id: ResourceId, session: SessionDep, _: Supervisor) -> PlacementPublic:
    row = await Placements(session).get(placement_id)
    if row is None:
        raise NotFound(f"no placement {placement_id}")
    return _public(row)


@router.post("/v1/placements/{placement_id}/recall", response_model=PlacementPublic, responses=ERRORS)
async def recall(
    *,
    placement_id: ResourceId,
    body: PlacementRecall,
    uow: UnitOfWorkDep,
    who: Supervisor,
    settings: SettingsDep,
) -> PlacementPublic:
    """Recalls the case from its agency now; emits ``collections.case.recalled`` with the reason."""
    repo = Placements(uow.session)
    row = await repo.get(placement_id)
    if row is None:
        raise NotFound(f"no placement {placement_id}")
    await Accounts(uow.session).lock_debtor(row.customer_id)
    row = await repo.get(placement_id, lock=True)
    assert row is not None
    if row.recalled_on is not None:
        raise Conflict(f"placement {placement_id} was recalled on {row.recalled_on.isoformat()}")
    today = max(await BusinessClock(uow.session).today(), row.placed_on)
    await effects.recall_placement(
        Work(uow.session, uow.outbox, settings, today, actor_of(who)), row, body.reason
    )
    await uow.commit()
    return _public(await repo.get(placement_id))


@router.get("/v1/agencies", response_model=AgenciesPublic)
async def list_agencies(*, session: SessionDep, _: Supervisor) -> AgenciesPublic:
    """The agency registry as escalation last heard it, with each agency's active placements."""
    counts = await Placements(session).active_per_agency()
    return AgenciesPublic(
        items=[
            AgencyPublic(**dict(row._mapping), active_placements=counts.get(row.agency_id, 0))
            for row in await Agencies(session).all()
        ]
    )


@router.get("/v1/decisions", response_model=DecisionsPublic, responses=ERRORS)
async def list_decisions(
    *,
    session: SessionDep,
    _: Supervisor,
    account_id: FilterId = None,
    customer_id: FilterId = None,
    limit: Limit = 50,
) -> DecisionsPublic:
    """An account's or a debtor's decisions, newest first: rule, facts used and outcome."""
    if account_id is None and customer_id is None:
        raise InvalidRequest("give account_id or customer_id")
    rows = await Decisions(session).list(account_id=account_id, customer_id=customer_id, limit=limit)
    return DecisionsPublic(
        items=[
            DecisionPublic.model_validate(
                {k: v for k, v in r._mapping.items() if k in DecisionPublic.model_fields}
            )
            for r in rows
        ]
    )

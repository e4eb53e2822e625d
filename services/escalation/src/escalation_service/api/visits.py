"""``/v1/visits``: home visits (seed 003), worked by the field team."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from collections_common.api import SessionDep, UnitOfWorkDep
from collections_common.audit import Actor, reads_of, record_reads
from collections_common.auth import Role, StaffPrincipal
from collections_common.events import EventTypes, VisitCompleted
from collections_common.problems import NotFound
from escalation_service.adapters.accounts import Accounts, BusinessClock
from escalation_service.adapters.visits import Visits, to_visit
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
    VisitArrange,
    VisitCancel,
    VisitComplete,
    VisitDebtorPublic,
    VisitPrepare,
    VisitPublic,
    VisitsPublic,
)
from escalation_service.domain import visits as domain
from escalation_service.domain.errors import InvalidVisit
from escalation_service.domain.visits import StaffMember
from escalation_service.effects import Work
from escalation_service.metrics import ACTIONS, count_on_commit

router = APIRouter(prefix="/v1/visits", tags=["visits"])
Readers = Annotated[StaffPrincipal, staff(Role.FIELD, Role.SUPERVISOR)]
Field = Annotated[StaffPrincipal, staff(Role.FIELD)]
Status = Annotated[str | None, Query(pattern="^(scheduled|prepared|arranged|completed|cancelled)$")]


def _public(row: Any) -> VisitPublic:
    values = dict(row._mapping)
    values["staff"] = values.get("staff") or []
    return VisitPublic.model_validate(values)


async def _load(repo: Visits, visit_id: str, *, lock: bool = False) -> Any:
    row = await repo.get(visit_id, lock=lock)
    if row is None:
        raise NotFound(f"no visit {visit_id}")
    return row


@router.get("", response_model=VisitsPublic, responses=ERRORS)
async def list_visits(
    *,
    session: SessionDep,
    _: Readers,
    status: Status = None,
    account_id: FilterId = None,
    customer_id: FilterId = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> VisitsPublic:
    """Visits, newest first."""
    rows, last = await Visits(session).page(
        status=status,
        account_id=account_id,
        customer_id=customer_id,
        before=decode_cursor(cursor),
        limit=limit,
    )
    return VisitsPublic(items=[_public(row) for row in rows], next_cursor=encode_cursor(last))


@router.get("/{visit_id}", response_model=VisitPublic, responses=ERRORS)
async def get_visit(*, visit_id: ResourceId, session: SessionDep, _: Readers) -> VisitPublic:
    return _public(await _load(Visits(session), visit_id))


@router.get("/{visit_id}/debtor", response_model=VisitDebtorPublic, responses=ERRORS)
async def get_visit_debtor(
    *, visit_id: ResourceId, request: Request, uow: UnitOfWorkDep, who: Field
) -> VisitDebtorPublic:
    """The debtor's name, address and phones for the visit; the read is audited."""
    row = await _load(Visits(uow.session), visit_id)
    account = await Accounts(uow.session).get(row.account_id)
    answer = VisitDebtorPublic(
        visit_id=visit_id,
        customer_id=row.customer_id,
        name=account.holder_name if account else None,
        address=dict(account.address) if account and account.address else None,
        phones=list(account.phones) if account else [],
    )
    fields = [name for name in ("name", "address", "phones") if getattr(answer, name)]
    await record_reads(
        uow.session, reads_of(request, Actor.staff(who), "customer", [row.customer_id], fields)
    )
    await uow.commit()
    return answer


@router.post("/{visit_id}/prepare", response_model=VisitPublic, responses=ERRORS)
async def prepare_visit(
    *, visit_id: ResourceId, body: VisitPrepare, uow: UnitOfWorkDep, who: Field
) -> VisitPublic:
    """Records the materials to show and the plan (seed 003 2.1, 2.3)."""
    repo = Visits(uow.session)
    visit = domain.prepare(
        to_visit(await _load(repo, visit_id, lock=True)), materials=body.materials, plan=body.plan
    )
    await repo.save(visit, by=actor_of(who))
    await uow.commit()
    return _public(await _load(repo, visit_id))


@router.post("/{visit_id}/arrange", response_model=VisitPublic, responses=ERRORS)
async def arrange_visit(
    *, visit_id: ResourceId, body: VisitArrange, uow: UnitOfWorkDep, who: Field
) -> VisitPublic:
    """Records the appointment agreed with the debtor, under a contact permit of channel visit."""
    repo = Visits(uow.session)
    visit = domain.arrange(
        to_visit(await _load(repo, visit_id, lock=True)),
        visit_at=body.visit_at,
        arranged_at=body.arranged_at or datetime.now(UTC),
        permit_id=body.permit_id,
    )
    await repo.save(visit, by=actor_of(who))
    await uow.commit()
    return _public(await _load(repo, visit_id))


@router.post("/{visit_id}/complete", response_model=VisitPublic, responses=ERRORS)
async def complete_visit(
    *, visit_id: ResourceId, body: VisitComplete, uow: UnitOfWorkDep, who: Field, settings: SettingsDep
) -> VisitPublic:
    """Records the visit done by at least two named field staff (the caller among them), with its
    outcome and the reference of its record; emits ``collections.visit.completed``."""
    if who.subject not in {member.staff_id for member in body.staff}:
        raise InvalidVisit("the staff member recording the visit must be one of its visitors")
    repo = Visits(uow.session)
    role = settings.rules.visits.staff_role
    visit = domain.complete(
        to_visit(await _load(repo, visit_id, lock=True)),
        staff=[StaffMember(m.staff_id, m.name, frozenset({role})) for m in body.staff],
        outcome=body.outcome,
        record_ref=body.record_ref,
        completed_at=body.completed_at or datetime.now(UTC),
        settings=settings.rules.visits,
        notes=body.notes,
    )
    await repo.save(visit, by=actor_of(who))
    assert visit.completion is not None
    work = Work(uow.session, uow.outbox, settings, await BusinessClock(uow.session).today(), actor_of(who))
    work.emit(
        EventTypes.VISIT_COMPLETED,
        visit.account_id,
        VisitCompleted(
            visit_id=visit.visit_id,
            account_id=visit.account_id,
            customer_id=visit.customer_id,
            outcome=visit.completion.outcome,
            record_ref=visit.completion.record_ref,
            staff=[m.staff_id for m in visit.completion.staff],
            completed_at=visit.completion.completed_at,
        ),
    )
    count_on_commit(uow.session, ACTIONS.labels("home_visit", "completed"))
    await uow.commit()
    return _public(await _load(repo, visit_id))


@router.post("/{visit_id}/cancel", response_model=VisitPublic, responses=ERRORS)
async def cancel_visit(
    *,
    visit_id: ResourceId,
    body: VisitCancel,
    uow: UnitOfWorkDep,
    who: Annotated[StaffPrincipal, staff(Role.FIELD, Role.SUPERVISOR)],
) -> VisitPublic:
    repo = Visits(uow.session)
    visit = domain.cancel(to_visit(await _load(repo, visit_id, lock=True)), body.reason)
    await repo.save(visit, by=actor_of(who))
    count_on_commit(uow.session, ACTIONS.labels("home_visit", "cancelled"))
    await uow.commit()
    return _public(await _load(repo, visit_id))

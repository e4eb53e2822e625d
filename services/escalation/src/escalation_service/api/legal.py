"""``/v1/legal-files``: legal files and their dated steps (role legal)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from collections_common.api import SessionDep, UnitOfWorkDep
from collections_common.auth import Role, StaffPrincipal
from collections_common.problems import NotFound
from escalation_service.adapters.accounts import BusinessClock
from escalation_service.adapters.legal import LegalFiles
from escalation_service.api.common import (
    ERRORS,
    Cursor,
    FilterId,
    Limit,
    ResourceId,
    actor_of,
    decode_cursor,
    encode_cursor,
    staff,
)
from escalation_service.api.schemas import (
    LegalFileClose,
    LegalFilePublic,
    LegalFilesPublic,
    LegalStepCreate,
    LegalStepPublic,
)
from escalation_service.domain import legal as domain
from escalation_service.domain.legal import STEP_ORDER

router = APIRouter(prefix="/v1/legal-files", tags=["legal files"])
Readers = Annotated[StaffPrincipal, staff(Role.LEGAL, Role.SUPERVISOR)]
Legal = Annotated[StaffPrincipal, staff(Role.LEGAL)]


def _public(row: Any, steps: list[Any]) -> LegalFilePublic:
    return LegalFilePublic(
        **{k: v for k, v in row._mapping.items() if k in LegalFilePublic.model_fields},
        next_step=STEP_ORDER[len(steps)] if len(steps) < len(STEP_ORDER) else None,
        steps=[LegalStepPublic.model_validate(dict(s._mapping)) for s in steps],
    )


async def _one(repo: LegalFiles, file_id: str) -> LegalFilePublic:
    row = await repo.get_row(file_id)
    if row is None:
        raise NotFound(f"no legal file {file_id}")
    return _public(row, (await repo.steps_of([file_id]))[file_id])


@router.get("", response_model=LegalFilesPublic, responses=ERRORS)
async def list_legal_files(
    *,
    session: SessionDep,
    _: Readers,
    open: Annotated[bool | None, Query(description="true: open files; false: closed ones")] = None,
    account_id: FilterId = None,
    customer_id: FilterId = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> LegalFilesPublic:
    """Legal files with their steps, newest first."""
    repo = LegalFiles(session)
    rows, last = await repo.page(
        open_only=open,
        account_id=account_id,
        customer_id=customer_id,
        before=decode_cursor(cursor),
        limit=limit,
    )
    steps = await repo.steps_of([row.file_id for row in rows])
    return LegalFilesPublic(
        items=[_public(row, steps[row.file_id]) for row in rows], next_cursor=encode_cursor(last)
    )


@router.get("/{file_id}", response_model=LegalFilePublic, responses=ERRORS)
async def get_legal_file(*, file_id: ResourceId, session: SessionDep, _: Readers) -> LegalFilePublic:
    return await _one(LegalFiles(session), file_id)


@router.post("/{file_id}/steps", response_model=LegalFilePublic, status_code=201, responses=ERRORS)
async def record_step(
    *, file_id: ResourceId, body: LegalStepCreate, uow: UnitOfWorkDep, who: Legal
) -> LegalFilePublic:
    """Records the next step (lawyer's letter, filing, hearing, judgment), dated."""
    repo = LegalFiles(uow.session)
    legal_file = await repo.load(file_id, lock=True)
    if legal_file is None:
        raise NotFound(f"no legal file {file_id}")
    today = await BusinessClock(uow.session).today()
    updated = domain.record_step(
        legal_file, body.kind, on=body.on, today=today, recorded_by=actor_of(who), reference=body.reference
    )
    await repo.add_step(file_id, len(updated.steps), updated.steps[-1])
    await uow.commit()
    return await _one(repo, file_id)


@router.post("/{file_id}/close", response_model=LegalFilePublic, responses=ERRORS)
async def close_legal_file(
    *, file_id: ResourceId, body: LegalFileClose, uow: UnitOfWorkDep, who: Legal
) -> LegalFilePublic:
    repo = LegalFiles(uow.session)
    legal_file = await repo.load(file_id, lock=True)
    if legal_file is None:
        raise NotFound(f"no legal file {file_id}")
    today = await BusinessClock(uow.session).today()
    closed = domain.close(legal_file, on=body.on or today, reason=body.reason)
    await repo.close(closed, by=actor_of(who))
    await uow.commit()
    return await _one(repo, file_id)

"""``/v1/letters``: demand letters and their dispatch (supervisors and legal)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from collections_common.api import SessionDep, UnitOfWorkDep
from collections_common.auth import Role, StaffPrincipal
from collections_common.problems import Conflict, NotFound
from escalation_service.adapters.letters import Letters
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
from escalation_service.api.schemas import LetterCancel, LetterPublic, LettersPublic
from escalation_service.metrics import ACTIONS, count_on_commit

router = APIRouter(prefix="/v1/letters", tags=["letters"])
Readers = Annotated[StaffPrincipal, staff(Role.SUPERVISOR, Role.LEGAL)]
Supervisor = Annotated[StaffPrincipal, staff(Role.SUPERVISOR)]
Status = Annotated[str | None, Query(pattern="^(pending|sent|failed|cancelled)$")]


def _public(row: Any) -> LetterPublic:
    return LetterPublic.model_validate(row._mapping, from_attributes=False)


@router.get("", response_model=LettersPublic, responses=ERRORS)
async def list_letters(
    *,
    session: SessionDep,
    _: Readers,
    status: Status = None,
    account_id: FilterId = None,
    customer_id: FilterId = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> LettersPublic:
    """Letters, newest first."""
    rows, last = await Letters(session).page(
        status=status,
        account_id=account_id,
        customer_id=customer_id,
        before=decode_cursor(cursor),
        limit=limit,
    )
    return LettersPublic(items=[_public(row) for row in rows], next_cursor=encode_cursor(last))


@router.get("/{letter_id}", response_model=LetterPublic, responses=ERRORS)
async def get_letter(*, letter_id: ResourceId, session: SessionDep, _: Readers) -> LetterPublic:
    row = await Letters(session).get(letter_id)
    if row is None:
        raise NotFound(f"no letter {letter_id}")
    return _public(row)


@router.post("/{letter_id}/retry", response_model=LetterPublic, responses=ERRORS)
async def retry_letter(*, letter_id: ResourceId, uow: UnitOfWorkDep, who: Supervisor) -> LetterPublic:
    """Sends a failed letter again (its attempts start over)."""
    letters = Letters(uow.session)
    row = await letters.get(letter_id, lock=True)
    if row is None:
        raise NotFound(f"no letter {letter_id}")
    if row.status != "failed":
        raise Conflict(f"letter {letter_id} is {row.status}; only a failed letter is retried")
    await letters.set_status(letter_id, "pending", by=actor_of(who), attempts=0, last_error=None)
    await uow.commit()
    return _public(await Letters(uow.session).get(letter_id))


@router.post("/{letter_id}/cancel", response_model=LetterPublic, responses=ERRORS)
async def cancel_letter(
    *, letter_id: ResourceId, body: LetterCancel, uow: UnitOfWorkDep, who: Supervisor
) -> LetterPublic:
    """Cancels a letter not sent (pending or failed)."""
    letters = Letters(uow.session)
    row = await letters.get(letter_id, lock=True)
    if row is None:
        raise NotFound(f"no letter {letter_id}")
    if row.status not in ("pending", "failed"):
        raise Conflict(f"letter {letter_id} is {row.status}; only an unsent letter is cancelled")
    await letters.set_status(letter_id, "cancelled", by=actor_of(who), last_error=body.reason)
    count_on_commit(uow.session, ACTIONS.labels("demand_letter", "cancelled"))
    await uow.commit()
    return _public(await Letters(uow.session).get(letter_id))

"""``/v1/call-tasks``: collectors pull the next call compliance allows now and record its outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request

from collections_common.api import MAX_BIGINT, SessionDep, UnitOfWorkDep
from collections_common.audit import Actor, reads_of, record_reads
from collections_common.problems import Problem
from contact_service.adapters.cases import CaseRepository
from contact_service.adapters.permits import PermitRow
from contact_service.adapters.work import DONE, CallTaskRow, WorkRepository
from contact_service.api.cursors import decode_cursor, encode_cursor
from contact_service.api.deps import Collector, ContactConfigDep
from contact_service.api.permits import permit_public
from contact_service.api.schemas import (
    CallTaskPublic,
    CallTasksPublic,
    NextCallTaskPublic,
    OutcomeCreate,
    PermitPublic,
)
from contact_service.domain.compliance import PermitRequest
from contact_service.domain.contact import ADDRESS, Channel, Outcome, Owner
from contact_service.domain.errors import OutcomeConflict, UnknownThing
from contact_service.permits import OutcomeReport, count_decision, record_outcome, reserve
from contact_service.plans import MessageFacts
from contact_service.treatment import schedule_next

router = APIRouter(prefix="/v1/call-tasks", tags=["call tasks"])

PROBLEMS: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "no such call task"},
    409: {"model": Problem, "description": "the task is not locked to the caller, or already done"},
}
CANDIDATES = 20
"""Tasks looked at per pull: the best ones, skipping those compliance refuses now."""


def task_public(
    row: CallTaskRow, contact_point: str | None = None, script: str | None = None
) -> CallTaskPublic:
    return CallTaskPublic(
        task_id=row.task_id,
        customer_id=row.customer_id,
        account_id=row.account_id,
        stage=row.stage,
        priority=row.priority,
        score=row.score,
        due_at=row.due_at,
        status=row.status,
        locked_by=row.locked_by,
        locked_until=row.locked_until,
        permit_id=row.permit_id,
        cancel_reason=row.cancel_reason,
        outcome=row.outcome,
        contact_point=contact_point,
        script=script,
    )


@router.post("/next", response_model=NextCallTaskPublic)
async def pull_next(
    *, request: Request, uow: UnitOfWorkDep, config: ContactConfigDep, caller: Collector
) -> NextCallTaskPublic:
    """The best call task compliance allows now, locked to the caller with a permit for the call.

    A collector holding a locked task gets it again. Tasks refused now wait until the policy's
    ``retry_after`` (or an hour when it names none).
    """
    now = datetime.now(UTC)
    work = WorkRepository(uow.session)
    cases = CaseRepository(uow.session)
    held = await work.held_by(caller.subject, now)
    candidates = [held] if held is not None else await work.queue(now, CANDIDATES)
    decided: list[PermitRow] = []  # counted once committed
    for task in candidates:
        points = [p.value for p in await cases.contact_points(task.customer_id) if p.owner is Owner.DEBTOR]
        phones = [p for p in points if "@" not in p and p != ADDRESS]
        if not phones:
            await work.update_task(task.task_id, not_before=now + timedelta(hours=1))
            continue
        if held is None:
            permit = await reserve(
                uow.session,
                pack=config.pack,
                source=config.settings.source,
                request=PermitRequest(task.account_id, Channel.CALL, phones[0], now, autodialled=False),
                requested_by=caller.subject,
                customer_id=task.customer_id,
            )
            decided.append(permit)
            if not permit.allowed:
                await work.update_task(
                    task.task_id, not_before=permit.retry_after or now + timedelta(hours=1)
                )
                continue
            locked_until = now + timedelta(minutes=config.settings.task_lock_minutes)
            await work.update_task(
                task.task_id, locked_by=caller.subject, locked_until=locked_until, permit_id=permit.permit_id
            )
        locked = await work.task(task.task_id)
        assert locked is not None
        record = await cases.load(task.customer_id)
        account = record.case.accounts.get(task.account_id)
        facts = MessageFacts(
            config.settings.bank_name,
            task.account_id[-4:],
            account.dpd if account else 0,
            account.past_due_minor if account else 0,
            account.currency if account and account.currency else "CNY",
        )
        script = config.renderer.render(task.template, Channel.CALL, facts, record.case.profile.language).body
        await record_reads(
            uow.session, reads_of(request, Actor.staff(caller), "customer", [task.customer_id], ["phone"])
        )
        await uow.commit()
        _count(decided)
        return NextCallTaskPublic(task=task_public(locked, phones[0], script))
    await uow.commit()
    _count(decided)
    return NextCallTaskPublic(task=None)


def _count(decided: list[PermitRow]) -> None:
    for permit in decided:
        count_decision(permit)


@router.post("/{task_id}/outcome", response_model=PermitPublic, responses=PROBLEMS)
async def record_task_outcome(
    *,
    task_id: Annotated[int, Path(ge=1, le=MAX_BIGINT)],
    body: OutcomeCreate,
    uow: UnitOfWorkDep,
    config: ContactConfigDep,
    caller: Collector,
) -> PermitPublic:
    """Record the call's outcome (with its recording reference) on the task's permit; the task is
    done, and its step's next call is laid out (``treatment.schedule_next``)."""
    work = WorkRepository(uow.session)
    cases = CaseRepository(uow.session)
    found = await work.task(task_id)
    if found is None:
        raise UnknownThing("no such call task")
    await cases.lock(found.customer_id)  # before the task's row, as the consumers' cancellations
    task = await work.task(task_id, for_update=True)
    if task is None:
        raise UnknownThing("no such call task")
    if task.permit_id is None or task.locked_by != caller.subject:
        raise OutcomeConflict("the task is not locked to the caller")
    row, _changed = await record_outcome(
        uow.session,
        uow.outbox,
        pack=config.pack,
        source=config.settings.source,
        permit_id=task.permit_id,
        report=OutcomeReport(Outcome(body.outcome), body.at, body.recording_ref, body.details_dict()),
        by=caller.subject,
    )
    if task.status != DONE:
        await work.update_task(
            task_id, status=DONE, outcome=body.outcome, done_by=caller.subject, done_at=datetime.now(UTC)
        )
        record = await cases.load(task.customer_id)
        await schedule_next(uow.session, config.plan.plan, record, task, config.settings.plan_horizon)
    await uow.commit()
    return permit_public(row)


@router.get("", response_model=CallTasksPublic)
async def list_tasks(
    *,
    session: SessionDep,
    caller: Collector,
    status: Literal["pending", "done", "cancelled"] | None = None,
    customer_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CallTasksPublic:
    """Call tasks in creation order, filtered by status and debtor, page by page."""
    after = decode_cursor(cursor, (int,))[0] if cursor else None
    rows = await WorkRepository(session).tasks(
        status=status, customer_id=customer_id, after=after, limit=limit + 1
    )
    items = [task_public(row) for row in rows[:limit]]
    next_cursor = encode_cursor(rows[limit - 1].task_id) if len(rows) > limit else None
    return CallTasksPublic(items=items, next_cursor=next_cursor)

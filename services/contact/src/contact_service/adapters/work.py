"""Pending work of a debtor: planned contacts (scheduled sends) and collector call tasks."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, Table, and_, any_, bindparam, exists, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from contact_service.adapters.orm import call_tasks, planned_contacts
from contact_service.domain.contact import Channel
from contact_service.domain.plans import PlannedContact

__all__ = ["CallTaskRow", "PlannedRow", "WorkRepository"]

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
BLOCKED = "blocked"
CANCELLED = "cancelled"
DONE = "done"


@dataclass(frozen=True, slots=True)
class PlannedRow:
    """A planned contact as stored."""

    id: int
    customer_id: str
    account_id: str
    stage: str
    step: int
    channel: str
    template: str
    due_at: datetime
    status: str
    next_try_at: datetime
    tries: int
    permit_id: str | None


@dataclass(frozen=True, slots=True)
class CallTaskRow:
    """A call task as stored."""

    task_id: int
    customer_id: str
    account_id: str
    stage: str
    step: int
    template: str
    priority: int
    score: int
    due_at: datetime
    status: str
    locked_by: str | None
    locked_until: datetime | None
    permit_id: str | None
    cancel_reason: str | None
    outcome: str | None


class WorkRepository:
    """Every SQL statement about planned contacts and call tasks."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def schedule(
        self, customer_id: str, account_id: str, contacts: Sequence[PlannedContact], *, score: int
    ) -> list[PlannedContact]:
        """Store a plan's contacts (calls become call tasks). A contact stored before is left alone,
        unless it was cancelled: a debtor back in a stage the same day (cured, then delinquent
        again; moved on, then back) gets that stage's plan again, and the cancelled contact is
        pending once more. Returns the contacts left alone because their stored one is done with
        (sent, blocked, or its call made): their steps go on from the next one."""
        stored: set[tuple[int, datetime]] = set()
        sends = [c for c in contacts if c.channel in _SENT_CHANNELS]
        calls = [c for c in contacts if c.channel is Channel.CALL]
        if sends:
            new_sends = insert(planned_contacts)
            result = await self.session.execute(
                new_sends.values(
                    [
                        {
                            "customer_id": customer_id,
                            "account_id": account_id,
                            "stage": c.stage,
                            "step": c.step,
                            "channel": c.channel.value,
                            "template": c.template,
                            "priority": c.priority,
                            "due_at": c.due_at,
                            "status": PENDING,
                            "next_try_at": c.due_at,
                        }
                        for c in sends
                    ]
                )
                .on_conflict_do_update(  # a cancelled one is pending again, as if new
                    constraint="planned_contacts_once",
                    set_={
                        "status": PENDING,
                        "cancel_reason": None,
                        "next_try_at": planned_contacts.c.due_at,
                        "tries": 0,
                        "deferred_rule": None,
                        "last_error": None,
                        "account_id": new_sends.excluded.account_id,
                        "template": new_sends.excluded.template,
                        "priority": new_sends.excluded.priority,
                    },
                    where=planned_contacts.c.status == CANCELLED,
                )
                .returning(planned_contacts.c.step, planned_contacts.c.due_at)
            )
            stored |= {(r.step, r.due_at) for r in result}
        if calls:
            new_calls = insert(call_tasks)
            result = await self.session.execute(
                new_calls.values(
                    [
                        {
                            "customer_id": customer_id,
                            "account_id": account_id,
                            "stage": c.stage,
                            "step": c.step,
                            "template": c.template,
                            "priority": c.priority,
                            "score": score,
                            "due_at": c.due_at,
                            "status": PENDING,
                            "not_before": c.due_at,
                        }
                        for c in calls
                    ]
                )
                .on_conflict_do_update(  # a cancelled one is pending again, as if new
                    constraint="call_tasks_once",
                    set_={
                        "status": PENDING,
                        "cancel_reason": None,
                        "not_before": call_tasks.c.due_at,
                        "account_id": new_calls.excluded.account_id,
                        "template": new_calls.excluded.template,
                        "priority": new_calls.excluded.priority,
                        "score": new_calls.excluded.score,
                    },
                    where=call_tasks.c.status == CANCELLED,
                )
                .returning(call_tasks.c.step, call_tasks.c.due_at)
            )
            stored |= {(r.step, r.due_at) for r in result}
        left = [c for c in contacts if (c.step, c.due_at) not in stored]
        return await self._done_with(customer_id, left) if left else []

    async def _done_with(self, customer_id: str, contacts: Sequence[PlannedContact]) -> list[PlannedContact]:
        """Those of ``contacts`` (all of one debtor's stage) whose stored one is done with."""
        done: set[tuple[int, datetime]] = set()
        for table, finished in ((planned_contacts, (SENT, BLOCKED)), (call_tasks, (DONE,))):
            rows = await self.session.execute(
                select(table.c.step, table.c.due_at).where(
                    table.c.customer_id == customer_id,
                    table.c.stage == contacts[0].stage,
                    table.c.due_at.in_({c.due_at for c in contacts}),
                    table.c.status.in_(finished),
                )
            )
            done |= {(r.step, r.due_at) for r in rows}
        return [c for c in contacts if (c.step, c.due_at) in done]

    async def rezone_pending_many(self, moves: Mapping[str, Callable[[datetime], datetime]]) -> int:
        """Move each debtor's untouched pending work (never tried, deferred, locked or permitted)
        by its function in ``moves`` (debtor: move); a contact whose new time another of its step
        already holds stays where it was. Returns how many moved."""
        if not moves:
            return 0
        moved = 0
        untouched_sends = and_(
            planned_contacts.c.status == PENDING,
            planned_contacts.c.tries == 0,
            planned_contacts.c.deferred_rule.is_(None),
            planned_contacts.c.permit_id.is_(None),
        )
        untouched_calls = and_(
            call_tasks.c.status == PENDING,
            call_tasks.c.locked_by.is_(None),
            call_tasks.c.permit_id.is_(None),
            call_tasks.c.not_before == call_tasks.c.due_at,
        )
        for table, key, untouched, also in (
            (planned_contacts, planned_contacts.c.id, untouched_sends, "next_try_at"),
            (call_tasks, call_tasks.c.task_id, untouched_calls, "not_before"),
        ):
            found: dict[str, list[tuple[int, str, int, datetime, datetime]]] = {}
            for r in await self.session.execute(
                select(key.label("id"), table.c.customer_id, table.c.stage, table.c.step, table.c.due_at)
                .where(table.c.customer_id == any_(_CUSTOMERS), untouched)
                .with_for_update(),
                {"customers": sorted(moves)},
            ):
                move = moves[r.customer_id]
                found.setdefault(r.customer_id, []).append((r.id, r.stage, r.step, r.due_at, move(r.due_at)))
            for customer_id, rows in found.items():
                # One row at a time, in the order that never lands on a row not yet moved.
                rows.sort(key=lambda m: m[3], reverse=any(new > old for *_, old, new in rows))
                for row_id, stage, step, old, new in rows:
                    if new == old:
                        continue
                    result = await self.session.execute(
                        update(table)
                        .where(key == row_id, ~_holds(table, customer_id, stage, step, new))
                        .values({"due_at": new, also: new})
                    )
                    moved += int(result.rowcount or 0)  # type: ignore[attr-defined]
        return moved

    async def cancel_pending_many(self, reasons: Mapping[str, str]) -> dict[str, int]:
        """Cancel every pending contact and call task of each debtor of ``reasons`` (debtor:
        recorded reason) in one statement; returns how many each had."""
        if not reasons:
            return {}
        counts = dict.fromkeys(reasons, 0)
        for row in await self.session.execute(
            _CANCEL_PENDING, {"customers": list(reasons), "reasons": list(reasons.values())}
        ):
            counts[row.customer_id] = row.n
        return counts

    async def rescore_many(self, scores: Mapping[str, int]) -> None:
        """Give every pending call task of each debtor of ``scores`` its debtor's score, in one
        statement."""
        if scores:
            await self.session.execute(_RESCORE, {"customers": list(scores), "scores": list(scores.values())})

    # -- the sender ---------------------------------------------------------------------------
    async def due(self, now: datetime, limit: int) -> Sequence[PlannedRow]:
        """Pending or sending contacts whose time has come, locked (others skip them)."""
        rows = await self.session.execute(
            select(planned_contacts)
            .where(planned_contacts.c.status.in_((PENDING, SENDING)), planned_contacts.c.next_try_at <= now)
            .order_by(planned_contacts.c.next_try_at, planned_contacts.c.priority.desc())
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_planned(r) for r in rows]

    async def lock_planned(self, planned_id: int) -> PlannedRow | None:
        row = (
            await self.session.execute(
                select(planned_contacts)
                .where(planned_contacts.c.id == planned_id)
                .with_for_update(skip_locked=True)
            )
        ).first()
        return _planned(row) if row is not None else None

    async def update_planned(self, planned_id: int, **values: object) -> None:
        await self.session.execute(
            update(planned_contacts).where(planned_contacts.c.id == planned_id).values(**values)
        )

    async def waiting(self, now: datetime) -> dict[str, int]:
        """Pending contacts due by ``now`` (queued) and deferred by a rule (deferred)."""
        row = (
            await self.session.execute(
                select(
                    func.count().filter(planned_contacts.c.next_try_at <= now).label("queued"),
                    func.count().filter(planned_contacts.c.deferred_rule.is_not(None)).label("deferred"),
                    func.count().label("pending"),
                ).where(planned_contacts.c.status.in_((PENDING, SENDING)))
            )
        ).one()
        calls = (
            await self.session.execute(select(func.count()).where(call_tasks.c.status == PENDING))
        ).scalar_one()
        return {"queued": row.queued, "deferred": row.deferred, "pending": row.pending, "call_tasks": calls}

    async def planned_of(self, customer_id: str) -> Sequence[tuple[PlannedRow, str | None]]:
        rows = await self.session.execute(
            select(planned_contacts)
            .where(planned_contacts.c.customer_id == customer_id)
            .order_by(planned_contacts.c.due_at, planned_contacts.c.id)
        )
        return [(_planned(r), r.cancel_reason) for r in rows]

    # -- collectors ---------------------------------------------------------------------------
    async def queue(self, now: datetime, limit: int) -> Sequence[CallTaskRow]:
        """Pending call tasks due by ``now`` and not locked by another collector, best first, locked."""
        rows = await self.session.execute(
            select(call_tasks)
            .where(
                call_tasks.c.status == PENDING,
                call_tasks.c.not_before <= now,
                or_(call_tasks.c.locked_until.is_(None), call_tasks.c.locked_until <= now),
            )
            .order_by(
                call_tasks.c.score.desc(),
                call_tasks.c.priority.desc(),
                call_tasks.c.due_at,
                call_tasks.c.task_id,
            )
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_task(r) for r in rows]

    async def held_by(self, collector: str, now: datetime) -> CallTaskRow | None:
        row = (
            await self.session.execute(
                select(call_tasks).where(
                    call_tasks.c.status == PENDING,
                    call_tasks.c.locked_by == collector,
                    call_tasks.c.locked_until > now,
                )
            )
        ).first()
        return _task(row) if row is not None else None

    async def task(self, task_id: int, *, for_update: bool = False) -> CallTaskRow | None:
        query = select(call_tasks).where(call_tasks.c.task_id == task_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return _task(row) if row is not None else None

    async def update_task(self, task_id: int, **values: object) -> None:
        await self.session.execute(update(call_tasks).where(call_tasks.c.task_id == task_id).values(**values))

    async def tasks(
        self, *, status: str | None, customer_id: str | None, after: int | None, limit: int
    ) -> Sequence[CallTaskRow]:
        query = select(call_tasks)
        if status is not None:
            query = query.where(call_tasks.c.status == status)
        if customer_id is not None:
            query = query.where(call_tasks.c.customer_id == customer_id)
        if after is not None:
            query = query.where(call_tasks.c.task_id > after)
        rows = await self.session.execute(query.order_by(call_tasks.c.task_id).limit(limit))
        return [_task(r) for r in rows]


_CUSTOMERS = bindparam("customers", type_=ARRAY(String))


def cancel_pending_ctes(customers: str, reasons: str) -> str:
    """Two common table expressions, ``sends`` and ``calls``, cancelling the pending contacts and
    call tasks of each (debtor, reason) of the arrays ``customers`` and ``reasons`` (their
    placeholders) with that reason; each returns a ``customer_id`` per row cancelled. The one
    way this service cancels pending work (``_CANCEL_PENDING``, ``stage_writes``)."""
    debtor_reasons = (
        f" FROM unnest(CAST({customers} AS varchar[]), CAST({reasons} AS varchar[]))"
        " AS v(customer_id, reason)"
    )
    return (
        f"sends AS (UPDATE {planned_contacts.name} AS p SET status = '{CANCELLED}', cancel_reason = v.reason"
        f"{debtor_reasons} WHERE p.customer_id = v.customer_id AND p.status IN ('{PENDING}', '{SENDING}')"
        " RETURNING p.customer_id),"
        f" calls AS (UPDATE {call_tasks.name} AS t SET status = '{CANCELLED}', cancel_reason = v.reason,"
        f" locked_by = NULL, locked_until = NULL{debtor_reasons}"
        f" WHERE t.customer_id = v.customer_id AND t.status = '{PENDING}' RETURNING t.customer_id)"
    )


CANCELLED_PER_DEBTOR = (
    "SELECT customer_id, count(*) AS n"
    " FROM (SELECT customer_id FROM sends UNION ALL SELECT customer_id FROM calls) AS done"
    " GROUP BY customer_id"
)
"""After ``cancel_pending_ctes``: how many each debtor had cancelled (debtors with none left out)."""

_CANCEL_PENDING = text(f"WITH {cancel_pending_ctes(':customers', ':reasons')} {CANCELLED_PER_DEBTOR}")
"""The pending contacts and call tasks of each (debtor, reason) cancelled with that reason: how
many each debtor had. Both tables in one statement (one round trip), each joined to the
parameters' rows as the planner sees fit."""
_RESCORE = text(
    f"UPDATE {call_tasks.name} AS t SET score = v.score"
    " FROM unnest(CAST(:customers AS varchar[]), CAST(:scores AS integer[])) AS v(customer_id, score)"
    f" WHERE t.customer_id = v.customer_id AND t.status = '{PENDING}'"
)

_SENT_CHANNELS = frozenset({Channel.SMS, Channel.EMAIL, Channel.PUSH, Channel.IVR})


def _holds(table: Table, customer_id: str, stage: str, step: int, due_at: datetime) -> Any:
    """Whether a row of ``table`` already holds this step of the debtor's plan at ``due_at``."""
    other = table.alias()
    return exists().where(
        other.c.customer_id == customer_id,
        other.c.stage == stage,
        other.c.step == step,
        other.c.due_at == due_at,
    )


def _planned(r: Any) -> PlannedRow:
    return PlannedRow(
        id=r.id,
        customer_id=r.customer_id,
        account_id=r.account_id,
        stage=r.stage,
        step=r.step,
        channel=r.channel,
        template=r.template,
        due_at=r.due_at,
        status=r.status,
        next_try_at=r.next_try_at,
        tries=r.tries,
        permit_id=r.permit_id,
    )


def _task(r: Any) -> CallTaskRow:
    return CallTaskRow(
        task_id=r.task_id,
        customer_id=r.customer_id,
        account_id=r.account_id,
        stage=r.stage,
        step=r.step,
        template=r.template,
        priority=r.priority,
        score=r.score,
        due_at=r.due_at,
        status=r.status,
        locked_by=r.locked_by,
        locked_until=r.locked_until,
        permit_id=r.permit_id,
        cancel_reason=r.cancel_reason,
        outcome=r.outcome,
    )

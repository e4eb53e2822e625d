"""Promises are judged at the close of their date, once every payment published before that close
has been applied (DOMAIN.md section 5: "checked at the close of its date").

Payments and the calendar are different topics, so the contact consumer may read a close before
payments core banking published ahead of it. Both topics are stamped by the broker
(``LogAppendTime``), so the payments published before a close stamped ``T`` are, per partition,
the records below the first one stamped after ``T`` (``LogClock.published_by``). The consumer
notes each close (``PromiseRepository.note_close``); :class:`PromiseJudge` judges a close's
promises once the consumer's stored positions on every payments partition have reached those
offsets, counting only payments stamped by ``T``. However late the close or the payments are
read, a promise is judged on the same payments.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from collections_common.database import session_factory
from collections_common.events import EventTypes, Topics, new_event
from collections_common.events.contact import PromiseBroken, PromiseKept
from collections_common.runtime import Outbox, every, stored_positions
from collections_common.runtime.log_clock import LogClock
from contact_service.adapters.promises import PromiseRepository, PromiseRow
from contact_service.domain.promises import PromiseStatus, evaluate
from contact_service.metrics import PROMISE_CLOSES_WAITING, PROMISES, count_on_commit
from contact_service.settings import ContactSettings

__all__ = ["PromiseJudge", "decide_promise", "judge_close"]


async def decide_promise(
    session: AsyncSession,
    outbox: Outbox,
    source: str,
    row: PromiseRow,
    closed_through: date,
    *,
    published_by_ms: int | None = None,
    only_broken: bool = False,
) -> None:
    """Decide ``row``'s promise as of the close of ``closed_through`` and emit kept or broken;
    ``published_by_ms`` leaves out payments the broker stamped later; ``only_broken`` emits only
    a broken decision (a reversal can only break a kept promise)."""
    repo = PromiseRepository(session)
    promise = row.promise
    account_id = next(iter(promise.account_ids))
    payments = await repo.payments_of(account_id, published_by_ms=published_by_ms)
    view = evaluate(promise, payments, closed_through)
    if view.status is PromiseStatus.OPEN or (only_broken and view.status is not PromiseStatus.BROKEN):
        return
    await repo.decide(promise.promise_id, view.status.value, view.paid_minor, closed_through)
    model = PromiseKept if view.status is PromiseStatus.KEPT else PromiseBroken
    kind = EventTypes.PROMISE_KEPT if view.status is PromiseStatus.KEPT else EventTypes.PROMISE_BROKEN
    outbox.add(
        Topics.CONTACT,
        new_event(
            kind,
            source,
            row.customer_id,
            model(
                promise_id=promise.promise_id,
                account_id=account_id,
                customer_id=row.customer_id,
                amount_minor=promise.amount_minor,
                paid_minor=view.paid_minor,
                currency=promise.currency,
                promised_date=promise.due_on,
                as_of=closed_through,
            ),
        ),
        key=account_id,
    )
    count_on_commit(session, PROMISES.labels(view.status.value))


async def judge_close(
    session: AsyncSession, settings: ContactSettings, business_date: date, published_by_ms: int
) -> None:
    """Decide every open promise due by ``business_date`` on the payments stamped by its close
    (``published_by_ms``), emit the decisions and mark the close judged."""
    repo = PromiseRepository(session)
    outbox = Outbox(session)
    for row in await repo.open_due_by(business_date):
        await decide_promise(
            session, outbox, settings.source, row, business_date, published_by_ms=published_by_ms
        )
    await repo.mark_judged(business_date, settings.now())
    await outbox.flush()


class PromiseJudge:
    """Every ``promise_judge_interval_ms``, judges the noted closes, in date order, whose payments
    are all applied. Instances of the worker take turns: the earliest close's row is locked."""

    def __init__(self, settings: ContactSettings, engine: AsyncEngine, clock: LogClock | None = None) -> None:
        self.settings = settings
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
        self.clock = clock or LogClock(settings)

    async def run(self, stop: asyncio.Event) -> None:
        await self.clock.check_log_append_time((Topics.PAYMENTS, Topics.CALENDAR))
        try:
            await every(stop, self.settings.promise_judge_interval_ms / 1000, self.tick, "promise judge tick")
        finally:
            await self.clock.stop()

    async def tick(self) -> int:
        """Judge every close that is ready, earliest first; returns how many were judged."""
        judged = 0
        while await self._judge_next():
            judged += 1
        async with self.sessions() as session:
            PROMISE_CLOSES_WAITING.set(await PromiseRepository(session).unjudged_closes())
        return judged

    async def _judge_next(self) -> bool:
        async with self.sessions() as session, session.begin():
            repo = PromiseRepository(session)
            close = await repo.first_unjudged_close(for_update=True)
            if close is None:
                return False
            business_date, stamp = close
            # Everything stamped by T is in the log once the broker's clock has passed T.
            if time.time() * 1000 < stamp + self.settings.promise_judge_margin_ms:
                return False
            needed = await self.clock.published_by(Topics.PAYMENTS, stamp)
            applied = await stored_positions(session, self.settings.consumer_group)
            if any(applied.get((Topics.PAYMENTS, p), 0) < offset for p, offset in needed.items()):
                return False  # payments published before the close are still to be applied
            await judge_close(session, self.settings, business_date, stamp)
        return True

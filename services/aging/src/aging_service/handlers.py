"""Use cases of the aging service: decode, load, decide (the pure domain), store, emit.

The shape every service follows: one function per inbound event type, registered in
``EVENT_HANDLERS``. Aging's functions apply an event to an account book (pure domain calls);
``AgingHandlers.handle_batch`` dispatches a whole batch through ``EVENT_HANDLERS``, and
``apply_close`` moves partitions' accounts to a new as-of date; both work on the transaction's
books (``BookRepository.of``: each loaded once, saved once when the transaction commits, however
many closes a batch passes; the repository holds all SQL). Every stage change is stored in the
history and emitted through the outbox as ``collections.stage.changed`` in the same transaction.

Applying an event again changes nothing: each fact is keyed by its own id (statement, payment,
reversal's payment, reage), a repeat with the same content is a no-op and emits no change. So the
consumer runner records no event identities for aging (``deduplicate=False``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date
from typing import Protocol

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from aging_service.adapters.repository import BookRepository, FactSource
from aging_service.domain.account import AccountBook, StageChanged
from aging_service.domain.calendar import as_of_after
from aging_service.domain.errors import RejectedEvent
from aging_service.domain.policy import AgingPolicy
from aging_service.metrics import STAGE_TRANSITIONS
from collections_common.events import (
    AccountOpened,
    AccountReaged,
    EventData,
    EventTypes,
    PaymentPosted,
    PaymentReversed,
    StatementIssued,
    Topics,
    new_event,
)
from collections_common.events import StageChanged as StageChangedEvent
from collections_common.runtime import Batch, Outbox


class SourceNotes(Protocol):
    """Where a handler notes which event brought a fact (the repository; a no-op in pure tests)."""

    def note_source(self, account_id: str, kind: str, fact_id: str, source: FactSource) -> None: ...


Apply = Callable[[AccountBook, EventData, str, date | None, SourceNotes], StageChanged | None]
"""An event applied to its account's book at an as-of date; the stage change it causes, if any."""


# -- one function per event type --------------------------------------------------------------
def opened(
    book: AccountBook, data: EventData, event_id: str, as_of: date | None, _: SourceNotes
) -> StageChanged | None:
    assert isinstance(data, AccountOpened)
    return book.open(data.customer_id, data.currency, event_id=event_id, as_of=as_of)


def statement_issued(
    book: AccountBook, data: EventData, event_id: str, as_of: date | None, repo: SourceNotes
) -> StageChanged | None:
    assert isinstance(data, StatementIssued)
    change = book.record_statement(
        data.statement_id,
        data.statement_date,
        data.due_date,
        data.minimum_due_minor,
        data.statement_balance_minor,
        data.currency,
        event_id=event_id,
        as_of=as_of,
    )
    repo.note_source(book.account_id, "statement", data.statement_id, FactSource(event_id))
    return change


def payment_posted(
    book: AccountBook, data: EventData, event_id: str, as_of: date | None, repo: SourceNotes
) -> StageChanged | None:
    assert isinstance(data, PaymentPosted)
    change = book.record_payment(
        data.payment_id, data.value_date, data.amount_minor, data.currency, event_id=event_id, as_of=as_of
    )
    repo.note_source(book.account_id, "payment", data.payment_id, FactSource(event_id))
    return change


def payment_reversed(
    book: AccountBook, data: EventData, event_id: str, as_of: date | None, repo: SourceNotes
) -> StageChanged | None:
    assert isinstance(data, PaymentReversed)
    change = book.record_reversal(data.payment_id, event_id=event_id, as_of=as_of)
    repo.note_source(book.account_id, "reversal", data.payment_id, FactSource(event_id, data.reason))
    return change


def account_reaged(
    book: AccountBook, data: EventData, event_id: str, as_of: date | None, repo: SourceNotes
) -> StageChanged | None:
    assert isinstance(data, AccountReaged)
    change = book.record_reage(data.reage_id, data.effective_date, event_id=event_id, as_of=as_of)
    repo.note_source(book.account_id, "reage", data.reage_id, FactSource(event_id, data.reason))
    return change


EVENT_HANDLERS: dict[type[EventData], Apply] = {
    AccountOpened: opened,
    StatementIssued: statement_issued,
    PaymentPosted: payment_posted,
    PaymentReversed: payment_reversed,
    AccountReaged: account_reaged,
}
"""Inbound types aging applies. ``account.updated`` and ``account.closed`` change no aging fact
(a closed account still owes and keeps aging), so they are recorded as seen and left alone."""


class AgingHandlers:
    """Applies batches of inbound events and day closes with one policy and one event source."""

    def __init__(self, policy: AgingPolicy, source: str) -> None:
        self.policy = policy
        self.source = source

    async def handle_batch(self, batch: Batch) -> None:
        """Apply the batch's events to their books, its account openings first: core banking
        publishes an account's opening before its other events, and a batch holds the records of
        several topics in no set order between them."""
        relevant = [
            (incoming, apply, account_id_of(incoming.event.data))
            for incoming in batch.events
            if (apply := EVENT_HANDLERS.get(type(incoming.event.data))) is not None
        ]
        relevant.sort(key=lambda item: item[1] is not opened)  # stable: otherwise in batch order
        if not relevant:
            return
        partitions = {account_id: incoming.delivery.partition for incoming, _, account_id in relevant}
        repo = BookRepository.of(batch.session, self.policy)
        books = await repo.load(partitions.keys(), partitions)
        clocks = await repo.clocks(set(partitions.values()))
        as_of = {partition: as_of_after(clocks.get(partition)) for partition in set(partitions.values())}
        changes: list[StageChanged] = []
        changed: dict[str, AccountBook] = {}  # the books that took an event, saved once each
        for incoming, apply, account_id in relevant:
            book = books[account_id]
            typed = incoming.event
            try:
                change = apply(book, typed.data, typed.envelope.id, as_of[incoming.delivery.partition], repo)
            except RejectedEvent as exc:
                batch.reject(incoming, str(exc))
                continue
            changed[account_id] = book
            if change is not None:
                changes.append(change)
        for book in changed.values():
            repo.changed(book)
        repo.emitted(self._emit(batch.outbox, changes))

    async def apply_close(
        self,
        session: AsyncSession,
        outbox: Outbox,
        partitions: Sequence[int],
        business_date: date,
        event_id: str,
        *,
        last_close: date | None = None,
    ) -> int:
        """Move ``partitions`` to the as-of date after ``business_date``; return accounts touched.

        Only accounts whose ``next_change_on`` has come are read: a close costs what changes.
        The partitions a close is due for are moved together, on the transaction's books. When
        the transaction goes on to later closes, through ``last_close``, the stored accounts due
        by the last of them are read now, in one statement for them all.
        """
        as_of = as_of_after(business_date)
        assert as_of is not None
        ordered = sorted(set(partitions))
        if not ordered:
            return 0
        repo = BookRepository.of(session, self.policy)
        await repo.close_partitions(ordered, business_date)
        due = await repo.due_on(ordered, as_of, read_through=as_of_after(last_close))
        changes: list[StageChanged] = []
        for book in due:
            if (change := book.apply_close(as_of, event_id)) is not None:
                changes.append(change)
            repo.changed(book)
        repo.emitted(self._emit(outbox, changes))
        return len(due)

    def _emit(self, outbox: Outbox, changes: Sequence[StageChanged]) -> list[tuple[StageChanged, str]]:
        """Append one ``collections.stage.changed`` per change to the outbox; return their ids."""
        emitted: list[tuple[StageChanged, str]] = []
        for change in changes:
            event = new_event(
                EventTypes.STAGE_CHANGED,
                self.source,
                change.account_id,
                StageChangedEvent.model_validate(change.values()),
            )
            outbox.add(Topics.DELINQUENCY, event, key=change.account_id)
            emitted.append((change, event.id))
        count_on_commit(outbox.session, changes)
        return emitted


_PENDING_TRANSITIONS = "aging_stage_transitions"
_LISTENING = "aging_stage_transitions_listening"


def count_on_commit(session: AsyncSession, changes: Sequence[StageChanged]) -> None:
    """Count ``changes`` in ``STAGE_TRANSITIONS`` once ``session``'s transaction commits, not
    before: a transaction rolled back (and retried) counts nothing."""
    if not changes:
        return
    if not session.info.get(_LISTENING):
        session.info[_LISTENING] = True
        sync = session.sync_session
        event.listen(sync, "after_commit", _count_committed)
        event.listen(sync, "after_rollback", _forget_uncommitted)
    pending: Counter[tuple[str, str, str]] = session.info.setdefault(_PENDING_TRANSITIONS, Counter())
    pending.update((c.from_stage, c.to_stage, c.cause) for c in changes)


def _count_committed(session: Session) -> None:
    for labels, count in session.info.pop(_PENDING_TRANSITIONS, Counter()).items():
        STAGE_TRANSITIONS.labels(*labels).inc(count)


def _forget_uncommitted(session: Session) -> None:
    session.info.pop(_PENDING_TRANSITIONS, None)


def account_id_of(data: EventData) -> str:
    """The account an inbound aging event is about."""
    account_id = getattr(data, "account_id", None)
    assert isinstance(account_id, str)
    return account_id

"""Loads account books from PostgreSQL and saves what changed, once per transaction.

A batch's transaction may pass several business-day closes (a catch-up reads days of events at
once): each book it touches is loaded once, kept in memory from step to step (the events before a
close, the close, the events after it), and saved once, when the transaction commits
(:meth:`BookRepository.of`).
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from heapq import heappop, heappush
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    Integer,
    Select,
    String,
    all_,
    any_,
    bindparam,
    column,
    event,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.util import await_

from aging_service.adapters.orm import (
    accounts,
    business_day_closes,
    partition_clocks,
    payments,
    reages,
    reversals,
    stage_changes,
    statements,
)
from aging_service.domain.account import AccountBook, PostedPayment, StageChanged, Statement
from aging_service.domain.aging import Assessment, Reage, days_after
from aging_service.domain.policy import AgingPolicy
from collections_common.bulk import Rows, insert_all, insert_rows
from collections_common.database import session_driver


@dataclass
class _Loaded:
    """What was in the database when a book was loaded, to know what to insert on save."""

    partition: int
    statement_ids: set[str] = field(default_factory=set)
    payment_ids: set[str] = field(default_factory=set)
    reversal_ids: set[str] = field(default_factory=set)
    reage_ids: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class FactSource:
    """The event that brought a fact, and the reason text it carried."""

    event_id: str
    reason: str | None = None


_UNKNOWN_SOURCE = FactSource(event_id="unknown")

_ACCOUNT_FIGURES = (
    "customer_id",
    "currency",
    "opened",
    "stage",
    "dpd",
    "past_due_minor",
    "oldest_unpaid_due_date",
    "as_of",
    "next_change_on",
    "updated_at",
)


_BOOKS = "aging_books"
"""Where a session keeps its transaction's :class:`BookRepository` (``session.info``)."""


class BookRepository:
    """A unit of account books inside one transaction: each book loaded once and kept in memory;
    what the transaction changed is written by :meth:`save`."""

    def __init__(self, session: AsyncSession, policy: AgingPolicy) -> None:
        self.session = session
        self.policy = policy
        self._books: dict[str, AccountBook] = {}
        self._loaded: dict[str, _Loaded] = {}
        self._next_change: dict[str, date | None] = {}  # as stored, or as it will be; absent: stale
        # Per partition, for the closes (:meth:`due_on`) without a pass over every book in memory:
        self._upcoming_heaps: dict[int, list[tuple[date, str]]] = {}  # (next change, account); an
        # entry is current while ``_next_change`` still has that date for the account
        self._stale: dict[int, set[str]] = {}  # books changed since their next change was indexed
        self._stored_heaps: dict[int, list[tuple[date, str]]] = {}  # (stored next change, account)
        # of books in memory, not yet left out of a due read
        self._due_read_through: dict[int, date] = {}  # every book due by then is in memory
        self._clocks: dict[int, date | None] = {}
        self._changed: dict[str, AccountBook] = {}
        self._changes: list[tuple[StageChanged, str]] = []
        self._closed: dict[int, date] = {}  # partitions' new clocks, to save
        self.sources: dict[tuple[str, str, str], FactSource] = {}

    @classmethod
    def of(cls, session: AsyncSession, policy: AgingPolicy) -> BookRepository:
        """The repository of ``session``'s transaction: the books it loads stay in memory until
        the transaction ends, and what it changed is saved when the transaction commits (a batch
        that passes several closes loads and saves each book once). A rollback forgets them."""
        repo = session.info.get(_BOOKS)
        if repo is None:
            repo = session.info[_BOOKS] = cls(session, policy)
            sync = session.sync_session
            if not event.contains(sync, "before_commit", _save_on_commit):
                event.listen(sync, "before_commit", _save_on_commit)
                event.listen(sync, "after_rollback", _forget_books)
        assert isinstance(repo, BookRepository)
        return repo

    def changed(self, book: AccountBook) -> None:
        """``book`` took an event or a close: save it."""
        self._changed[book.account_id] = book
        self._next_change.pop(book.account_id, None)
        self._stale.setdefault(self._loaded[book.account_id].partition, set()).add(book.account_id)

    def emitted(self, changes: Iterable[tuple[StageChanged, str]]) -> None:
        """Stage changes to store in the history on save, with the ids of the events emitted."""
        self._changes.extend(changes)

    async def load(self, account_ids: Collection[str], partitions: dict[str, int]) -> dict[str, AccountBook]:
        """Books for ``account_ids``; accounts never seen get an empty book on ``partitions[id]``.
        A book already in memory is not read again."""
        books = self._books
        ids = sorted(set(account_ids) - books.keys())
        if ids:
            await self._read(ids, partitions)
        return {account_id: books[account_id] for account_id in account_ids}

    async def _read(self, ids: list[str], partitions: dict[str, int]) -> None:
        await self._books_of(_LOAD_IDS, {"ids": ids})
        for account_id in ids:
            if account_id not in self._books:
                self._books[account_id] = AccountBook(account_id=account_id, policy=self.policy)
                self._loaded[account_id] = _Loaded(partitions[account_id])
                self._next_change[account_id] = None

    async def _books_of(self, query: Select[Any], parameters: dict[str, Any]) -> list[AccountBook]:
        """Read the books of the accounts ``query`` selects (each account's row and facts in one
        row) and return them, but for those already in memory: they are kept as they are."""
        found: list[AccountBook] = []
        policy, books, loaded, next_changes = self.policy, self._books, self._loaded, self._next_change
        read_through = self._due_read_through
        for (
            account_id,
            partition,
            customer_id,
            currency,
            opened,
            stage,
            as_of,
            next_change,
            statement_rows,
            payment_rows,
            reversal_rows,
            reage_rows,
        ) in await _fetch(self.session, query, parameters):
            if account_id in books:
                continue
            book = books[account_id] = AccountBook(
                account_id=account_id,
                policy=policy,
                customer_id=customer_id,
                currency=currency,
                opened=opened,
                stage=stage,
                as_of=as_of,
                next_change_on=next_change,
            )
            facts = loaded[account_id] = _Loaded(partition)
            next_changes[account_id] = next_change
            if next_change is not None:
                heappush(self._upcoming_heaps.setdefault(partition, []), (next_change, account_id))
                through = read_through.get(partition)
                if through is None or next_change > through:  # a later due read leaves it out
                    heappush(self._stored_heaps.setdefault(partition, []), (next_change, account_id))
            for statement_id, statement_date, due_date, minimum, balance in statement_rows or ():
                book.statements[statement_id] = Statement(
                    statement_id=statement_id,
                    statement_date=statement_date,
                    due_date=due_date,
                    minimum_due_minor=minimum,
                    statement_balance_minor=balance,
                )
            for payment_id, value_date, amount in payment_rows or ():
                book.payments[payment_id] = PostedPayment(
                    payment_id=payment_id, value_date=value_date, amount_minor=amount
                )
            book.reversed_payment_ids.update(reversal_rows or ())
            for reage_id, effective_date in reage_rows or ():
                book.reages[reage_id] = Reage(reage_id=reage_id, effective_date=effective_date)
            facts.statement_ids.update(book.statements)
            facts.payment_ids.update(book.payments)
            facts.reversal_ids.update(book.reversed_payment_ids)
            facts.reage_ids.update(book.reages)
            found.append(book)
        return found

    async def partition_of(self, account_id: str) -> int | None:
        """The partition an account's events arrive on, or None when aging has never seen it."""
        return await self.session.scalar(
            select(accounts.c.partition).where(accounts.c.account_id == account_id)
        )

    def note_source(self, account_id: str, kind: str, fact_id: str, source: FactSource) -> None:
        """Remember which event brought a fact, for the rows saved later. Called once the book
        has accepted the event (a rejected event brings nothing); the first accepted one counts."""
        self.sources.setdefault((account_id, kind, fact_id), source)

    async def save(self) -> None:
        """Upsert the figures of the books changed since the last save, insert their new facts and
        the stage changes emitted (with their event ids), and move the partitions' clocks."""
        books, self._changed = list(self._changed.values()), {}
        changes, self._changes = self._changes, []
        closed, self._closed = self._closed, {}
        now = datetime.now(UTC)
        account_rows: list[dict[str, Any]] = []
        new_statements: list[dict[str, Any]] = []
        new_payments: list[dict[str, Any]] = []
        new_reversals: list[dict[str, Any]] = []
        new_reages: list[dict[str, Any]] = []
        for book in books:
            loaded = self._loaded[book.account_id]
            figures = current_assessment(book)
            upcoming = self._next_change[book.account_id] = next_change_on(book, figures)
            account_rows.append(
                {
                    "account_id": book.account_id,
                    "partition": loaded.partition,
                    "customer_id": book.customer_id,
                    "currency": book.currency,
                    "opened": book.opened,
                    "stage": book.stage,
                    "dpd": figures.dpd,
                    "past_due_minor": figures.past_due_minor,
                    "oldest_unpaid_due_date": figures.oldest_unpaid_due_date,
                    "as_of": book.as_of,
                    "next_change_on": upcoming,
                    "updated_at": now,
                }
            )
            for statement_id in book.statements.keys() - loaded.statement_ids:
                s = book.statements[statement_id]
                new_statements.append(
                    {
                        "account_id": book.account_id,
                        "statement_id": statement_id,
                        "statement_date": s.statement_date,
                        "due_date": s.due_date,
                        "minimum_due_minor": s.minimum_due_minor,
                        "statement_balance_minor": s.statement_balance_minor,
                        "event_id": self._source(book.account_id, "statement", statement_id).event_id,
                    }
                )
                loaded.statement_ids.add(statement_id)
            for payment_id in book.payments.keys() - loaded.payment_ids:
                p = book.payments[payment_id]
                new_payments.append(
                    {
                        "account_id": book.account_id,
                        "payment_id": payment_id,
                        "value_date": p.value_date,
                        "amount_minor": p.amount_minor,
                        "event_id": self._source(book.account_id, "payment", payment_id).event_id,
                    }
                )
                loaded.payment_ids.add(payment_id)
            for payment_id in book.reversed_payment_ids - loaded.reversal_ids:
                source = self._source(book.account_id, "reversal", payment_id)
                new_reversals.append(
                    {
                        "account_id": book.account_id,
                        "payment_id": payment_id,
                        "reason": source.reason,
                        "event_id": source.event_id,
                    }
                )
                loaded.reversal_ids.add(payment_id)
            for reage_id in book.reages.keys() - loaded.reage_ids:
                source = self._source(book.account_id, "reage", reage_id)
                new_reages.append(
                    {
                        "account_id": book.account_id,
                        "reage_id": reage_id,
                        "effective_date": book.reages[reage_id].effective_date,
                        "reason": source.reason,
                        "event_id": source.event_id,
                    }
                )
                loaded.reage_ids.add(reage_id)
        # One statement for all six tables (none has a foreign key to another: see adapters/orm.py).
        await insert_all(
            self.session,
            [
                Rows(accounts, account_rows, conflict=("account_id",), update=_ACCOUNT_FIGURES),
                Rows(statements, new_statements, conflict=("account_id", "statement_id")),
                Rows(payments, new_payments, conflict=("account_id", "payment_id")),
                Rows(reversals, new_reversals, conflict=("account_id", "payment_id")),
                Rows(reages, new_reages, conflict=("account_id", "reage_id")),
                Rows(stage_changes, [stage_change_row(change, event_id) for change, event_id in changes]),
            ],
        )
        if closed:
            clock = pg_insert(partition_clocks).values(
                [{"partition": partition, "closed_through": day} for partition, day in sorted(closed.items())]
            )
            await self.session.execute(
                clock.on_conflict_do_update(
                    index_elements=[partition_clocks.c.partition],
                    set_={"closed_through": clock.excluded.closed_through},
                    where=partition_clocks.c.closed_through < clock.excluded.closed_through,
                )
            )

    async def clocks(self, partitions: Collection[int]) -> dict[int, date]:
        """The last business date closed for each of ``partitions`` that has one."""
        known = self._clocks
        missing = [partition for partition in partitions if partition not in known]
        if missing:
            found = await partition_clocks_of(self.session, missing)
            known.update((partition, found.get(partition)) for partition in missing)
        return {partition: closed for partition in partitions if (closed := known[partition]) is not None}

    def adopt_clocks(self, partitions: Collection[int], stored: dict[int, date]) -> dict[int, date]:
        """Take ``stored`` (read from the database) as the clocks of ``partitions`` not known yet
        (a clock this transaction moved stays as it is); return the clocks of ``partitions``."""
        known = self._clocks
        for partition in partitions:
            if partition not in known:
                known[partition] = stored.get(partition)
        return {partition: closed for partition in partitions if (closed := known[partition]) is not None}

    async def close_partitions(self, partitions: Sequence[int], business_date: date) -> None:
        """Record ``business_date`` as the last date closed on ``partitions`` (never backwards);
        written on save, read back by :meth:`clocks` meanwhile."""
        clocks = await self.clocks(partitions)
        for partition in partitions:
            if partition not in clocks or clocks[partition] < business_date:
                self._clocks[partition] = self._closed[partition] = business_date

    async def due_on(
        self, partitions: Sequence[int], as_of: date, *, read_through: date | None = None
    ) -> list[AccountBook]:
        """The books of ``partitions`` whose figures change by ``as_of`` (``next_change_on``): those
        in memory by their figures now, the others by their stored row (read in one statement).

        Closes come in date order within a transaction. Once a due read has run for a partition,
        every book of it due by then is in memory, so the next read asks only for later stored
        dates, and none is needed up to there; the books in memory are found through their indexed
        next change, not by a pass over all of them. ``read_through`` (a later as-of date: the
        transaction's closes go on to it) reads the stored rows due by then at once; the books not
        due by ``as_of`` stay in memory for those closes."""
        upper = as_of if read_through is None else max(as_of, read_through)
        next_change = self._next_change
        due: dict[str, AccountBook] = {}
        left_out: list[str] = []  # in memory, and due by its stored row: the statement leaves it out
        read_through_before: list[date | None] = []
        for partition in sorted(set(partitions)):
            self._index_stale(partition)
            heap, current = self._upcoming_heaps.get(partition, []), []
            while heap and heap[0][0] <= as_of:
                upcoming, account_id = heappop(heap)
                current_entry = account_id in next_change and next_change[account_id] == upcoming
                if current_entry and account_id not in due:
                    due[account_id] = self._books[account_id]
                    current.append((upcoming, account_id))
            for entry in current:  # still due at a later close unless it changes meanwhile
                heappush(heap, entry)
            stored = self._stored_heaps.get(partition, [])
            while stored and stored[0][0] <= upper:
                left_out.append(heappop(stored)[1])
            through = self._due_read_through.get(partition)
            read_through_before.append(through)
            if through is None or through < upper:
                self._due_read_through[partition] = upper
        query, parameters = _LOAD_DUE, {"partitions": list(partitions), "as_of": upper, "in_memory": left_out}
        if read_through_before and None not in read_through_before:
            after = min(d for d in read_through_before if d is not None)
            if after >= upper:  # every book due by then is in memory already
                return sorted(due.values(), key=lambda book: book.account_id)
            query, parameters["after"] = _LOAD_DUE_AFTER, after
        stored_books = [
            book
            for book in await self._books_of(query, parameters)
            if book.next_change_on is not None and book.next_change_on <= as_of
        ]  # the others are due at a later close of the transaction: in memory, indexed, until then
        return sorted([*due.values(), *stored_books], key=lambda book: book.account_id)

    def _index_stale(self, partition: int) -> None:
        """Index the next change of the books of ``partition`` changed since it was last indexed."""
        heap = self._upcoming_heaps.setdefault(partition, [])
        for account_id in self._stale.pop(partition, ()):
            upcoming = self._upcoming(self._books[account_id])
            if upcoming is not None:
                heappush(heap, (upcoming, account_id))

    def _upcoming(self, book: AccountBook) -> date | None:
        """``next_change_on`` of a book in memory, as it is stored or will be on save."""
        if book.account_id not in self._next_change:
            self._next_change[book.account_id] = next_change_on(book, current_assessment(book))
        return self._next_change[book.account_id]

    async def reversal_reasons(self, account_id: str) -> dict[str, str | None]:
        """The reason of each reversed payment of ``account_id``, by payment id."""
        rows = await self.session.execute(
            select(reversals.c.payment_id, reversals.c.reason).where(reversals.c.account_id == account_id)
        )
        return {row.payment_id: row.reason for row in rows}

    async def stage_history(self, account_id: str) -> list[Any]:
        """Every stage change row of ``account_id``, oldest first."""
        rows = await self.session.execute(
            select(stage_changes).where(stage_changes.c.account_id == account_id).order_by(stage_changes.c.id)
        )
        return list(rows)

    async def closed_through(self, partition: int) -> date | None:
        """The last business date closed on ``partition``, or None before any close."""
        return (await partition_clocks_of(self.session, [partition])).get(partition)

    def _source(self, account_id: str, kind: str, fact_id: str) -> FactSource:
        return self.sources.get((account_id, kind, fact_id)) or _UNKNOWN_SOURCE


_NOT_STORED = frozenset({"customer_id", "currency"})
"""Fields of a stage change the history does not keep (the account row has them)."""


def stage_change_row(change: StageChanged, event_id: str) -> dict[str, Any]:
    """The ``stage_changes`` row of ``change``, emitted as event ``event_id``."""
    row = change.values()
    for name in _NOT_STORED:
        del row[name]
    row["event_id"] = event_id
    return row


def _save_on_commit(session: Session) -> None:
    """Before ``session``'s transaction commits: save what its repository changed."""
    if session.in_nested_transaction():
        return  # a savepoint: the books are saved with the transaction
    repo = session.info.pop(_BOOKS, None)
    if repo is not None:
        await_(repo.save())


def _forget_books(session: Session) -> None:
    session.info.pop(_BOOKS, None)


def current_assessment(book: AccountBook) -> Assessment:
    """The book's figures at its as-of date, reusing the domain's last reassessment."""
    if book.assessment is not None and book.assessment.as_of == book.as_of:
        return book.assessment
    return book.assess(book.as_of)


def next_change_on(book: AccountBook, current: Assessment) -> date | None:
    """The first as-of date at which ``book``'s figures change without a new event: its stage
    changes, or an unpaid due becomes past due (so the past-due sums per stage stay exact).

    Before any close the book has no as-of date; its figures are then those it would have on any
    date up to its earliest due date, so the next change is computed from there.
    """
    if book.as_of is None:
        due_dates = [statement.due_date for statement in book.statements.values()]
        if not due_dates:
            return None
        start = min(due_dates)
        assessment = book.assess(start)
    else:
        start, assessment = book.as_of, current
    candidates = [
        later
        for status in assessment.dues
        if status.unpaid_minor > 0
        and status.due.due_date >= start
        and (later := days_after(status.due.due_date, timedelta(days=1)))
    ]
    if assessment.next_change_on is not None:
        candidates.append(assessment.next_change_on)
    return min(candidates, default=None)


_DRIVER_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]


@functools.cache
def _driver_sql(query: Select[Any]) -> tuple[str, tuple[str, ...]]:
    """``query`` as the driver takes it: its SQL with ``$1``, ``$2``... and the parameters' names
    in that order (compiled once per query)."""
    compiled = query.compile(dialect=_DRIVER_DIALECT)
    return str(compiled), tuple(compiled.positiontup or ())


async def _fetch(session: AsyncSession, query: Select[Any], parameters: dict[str, Any]) -> list[Any]:
    """The rows of ``query`` (a book read: the hot path of every batch), sent to the session's
    driver directly (``session_driver``). A read needs no transaction of its own: before
    SQLAlchemy begins the session's, it reads what is committed, as a statement of it would."""
    sql, names = _driver_sql(query)
    driver = await session_driver(session)
    return list(await driver.fetch(sql, *(parameters[name] for name in names)))


def _facts(*columns: Any) -> Any:
    """An account's rows of one fact table, as an array of tuples (NULL when it has none)."""
    table = columns[0].table
    aggregated = func.array_agg(func.row(*columns) if len(columns) > 1 else columns[0])
    return select(aggregated).where(table.c.account_id == accounts.c.account_id).scalar_subquery()


_a, _st, _p = accounts.c, statements.c, payments.c
_LOAD_BOOKS = select(
    _a.account_id,
    _a.partition,
    _a.customer_id,
    _a.currency,
    _a.opened,
    _a.stage,
    _a.as_of,
    _a.next_change_on,
    _facts(
        _st.statement_id, _st.statement_date, _st.due_date, _st.minimum_due_minor, _st.statement_balance_minor
    ),
    _facts(_p.payment_id, _p.value_date, _p.amount_minor),
    _facts(reversals.c.payment_id),
    _facts(reages.c.reage_id, reages.c.effective_date),
)
"""Books with their facts, one row each: a load is one statement, whatever the facts."""
_LOAD_IDS = _LOAD_BOOKS.where(_a.account_id == any_(bindparam("ids", type_=ARRAY(String))))
_LOAD_DUE = _LOAD_BOOKS.where(
    _a.partition == any_(bindparam("partitions", type_=ARRAY(Integer))),
    _a.next_change_on <= bindparam("as_of"),
    _a.account_id != all_(bindparam("in_memory", type_=ARRAY(String))),
)
_LOAD_DUE_AFTER = _LOAD_DUE.where(_a.next_change_on > bindparam("after"))
"""Due books whose stored date is after ``after``: those due by then are in memory already."""


async def partition_clocks_of(session: AsyncSession, partitions: Collection[int]) -> dict[int, date]:
    """The last business date closed for each partition that has one."""
    if not partitions:
        return {}
    rows = await session.execute(
        select(partition_clocks.c.partition, partition_clocks.c.closed_through).where(
            partition_clocks.c.partition.in_(sorted(partitions))
        )
    )
    return {row.partition: row.closed_through for row in rows}


async def note_closes(
    session: AsyncSession, closes: Sequence[tuple[date, str, dict[str, dict[str, int]]]]
) -> None:
    """Store closes (business date, event id, barrier offsets) in one statement; a close already
    noted stays as it was, and so does the first of two with the same date."""
    rows: dict[date, dict[str, Any]] = {}
    for business_date, event_id, barrier in closes:
        rows.setdefault(
            business_date, {"business_date": business_date, "event_id": event_id, "barrier": barrier}
        )
    await insert_rows(session, business_day_closes, list(rows.values()), conflict=("business_date",))


@dataclass(frozen=True)
class BarrierState:
    """What the close gate reads at each tick, from one snapshot."""

    positions: dict[tuple[str, int], int]
    """The account consumer's stored positions."""
    read: dict[tuple[str, int], int]
    """The calendar reader's stored positions."""
    clocks: dict[int, date]
    """The last business date closed, per owned partition that has one."""
    closes: list[Any]
    """The noted closes after the oldest owned partition's clock (all, when one has none), in
    date order (rows of ``business_day_closes``)."""


_BARRIER_STATE = text(
    "WITH owned AS (SELECT unnest(CAST(:owned AS integer[])) AS partition),"
    " clocks AS (SELECT c.partition, c.closed_through FROM partition_clocks c JOIN owned USING (partition))"
    " SELECT 'position' AS kind, topic, partition, next_offset, NULL::date AS day,"
    " NULL::varchar AS event_id, NULL::jsonb AS barrier"
    " FROM consumer_positions WHERE consumer = :consumer"
    " UNION ALL SELECT 'read', topic, partition, next_offset, NULL, NULL, NULL"
    " FROM consumer_positions WHERE consumer = :reader"
    " UNION ALL SELECT 'clock', NULL, partition, NULL, closed_through, NULL, NULL FROM clocks"
    " UNION ALL SELECT 'close', NULL, NULL, NULL, business_date, event_id, barrier FROM business_day_closes"
    " WHERE business_date > COALESCE((SELECT min(closed_through) FROM clocks"
    " HAVING count(*) = (SELECT count(*) FROM owned)), '-infinity'::date)"
).columns(
    column("kind", String),
    column("topic", String),
    column("partition", Integer),
    column("next_offset", BigInteger),
    column("day", Date),
    column("event_id", String),
    column("barrier", JSONB),
)


async def barrier_state(
    session: AsyncSession, consumer: str, reader: str, owned: Collection[int]
) -> BarrierState:
    """The close gate's view for the partitions ``owned`` (distinct), in one statement: the
    stored positions of ``consumer`` and of the calendar ``reader``, the owned partitions'
    clocks, and the closes noted after the oldest of them."""
    state = BarrierState({}, {}, {}, [])
    for row in await session.execute(
        _BARRIER_STATE, {"owned": sorted(owned), "consumer": consumer, "reader": reader}
    ):
        match row.kind:
            case "position":
                state.positions[(row.topic, row.partition)] = row.next_offset
            case "read":
                state.read[(row.topic, row.partition)] = row.next_offset
            case "clock":
                state.clocks[row.partition] = row.day
            case _:
                state.closes.append(row)
    state.closes.sort(key=lambda row: row.day)
    return state

"""Plays contract events (CloudEvents as dicts) against the pure aging domain, in delivery order.

It stands in for the service where no broker or database is wanted, dispatching through the
service's own ``EVENT_HANDLERS``: it skips redeliveries (same
source and id), keeps the calendar (as-of date = last close + 1; a close not after the last one
changes nothing), applies each close to every account, and dead-letters what the domain rejects.
Used by the golden tests of the pure module and by the throughput benchmark's expectations.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from aging_service.adapters.repository import FactSource
from aging_service.domain.account import AccountBook, StageChanged
from aging_service.domain.errors import RejectedEvent
from aging_service.domain.policy import AgingPolicy
from aging_service.handlers import EVENT_HANDLERS, account_id_of
from collections_common.events import BusinessDayClosed, InvalidEvent, parse


class _NoNotes:
    """The pure driver keeps no fact sources (the service's repository does)."""

    def note_source(self, account_id: str, kind: str, fact_id: str, source: FactSource) -> None:
        return None


_NO_NOTES = _NoNotes()


@dataclass
class PureDriver:
    """Plays CloudEvents in delivery order against a dict of AccountBook."""

    policy: AgingPolicy
    books: dict[str, AccountBook] = field(default_factory=dict)
    seen: set[tuple[str, str]] = field(default_factory=set)
    last_closed: date | None = None
    changes: list[StageChanged] = field(default_factory=list)
    dead_letters: list[str] = field(default_factory=list)

    @property
    def as_of(self) -> date | None:
        return None if self.last_closed is None else self.last_closed + timedelta(days=1)

    def book(self, account_id: str) -> AccountBook:
        if account_id not in self.books:
            self.books[account_id] = AccountBook(account_id, policy=self.policy)
        return self.books[account_id]

    def deliver(self, event: dict[str, Any]) -> None:
        identity = (event["source"], event["id"])
        if identity in self.seen:
            return  # the consumer's idempotency: a redelivery changes nothing
        self.seen.add(identity)
        try:
            self._apply(event)
        except (RejectedEvent, InvalidEvent):
            self.dead_letters.append(event["id"])

    def _apply(self, event: dict[str, Any]) -> None:
        typed = parse(json.dumps(event).encode())  # the contract's models, as the consumer gets them
        data = typed.data
        if isinstance(data, BusinessDayClosed):
            closed = data.business_date
            if self.last_closed is not None and closed <= self.last_closed:
                return
            self.last_closed = closed
            for book in self.books.values():
                self._emit(book.apply_close(closed + timedelta(days=1), typed.envelope.id))
            return
        apply = EVENT_HANDLERS.get(type(data))
        if apply is None:
            return  # as the service does: no aging fact (account.updated, account.closed), left alone
        book = self.book(account_id_of(data))
        self._emit(apply(book, data, typed.envelope.id, self.as_of, _NO_NOTES))

    def _emit(self, change: StageChanged | None) -> None:
        if change is not None:
            self.changes.append(change)

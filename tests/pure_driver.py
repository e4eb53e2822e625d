"""Plays contract events (CloudEvents as dicts) against the pure aging domain, in delivery order.

It stands in for the service where no broker or database is wanted: it skips redeliveries (same
source and id), keeps the calendar (as-of date = last close + 1; a close not after the last one
changes nothing), applies each close to every account, and dead-letters what the domain rejects.
Used by the golden tests of the pure module and by the throughput benchmark's expectations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from aging_service.domain.account import AccountBook, StageChanged
from aging_service.domain.errors import RejectedEvent
from aging_service.domain.policy import AgingPolicy


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
        except RejectedEvent:
            self.dead_letters.append(event["id"])

    def _apply(self, event: dict[str, Any]) -> None:
        kind = event["type"].removeprefix("corebank.")
        data = event["data"]
        event_id = event["id"]
        if kind == "business-day.closed":
            closed = date.fromisoformat(data["business_date"])
            if self.last_closed is not None and closed <= self.last_closed:
                return
            self.last_closed = closed
            for book in self.books.values():
                self._emit(book.apply_close(closed + timedelta(days=1), event_id))
            return
        book = self.book(data["account_id"])
        as_of = self.as_of
        if kind == "account.opened":
            customer_id, currency = data["customer_id"], data["currency"]
            change = book.open(customer_id, currency, event_id=event_id, as_of=as_of)
        elif kind == "statement.issued":
            change = book.record_statement(
                data["statement_id"],
                date.fromisoformat(data["statement_date"]),
                date.fromisoformat(data["due_date"]),
                data["minimum_due_minor"],
                data["statement_balance_minor"],
                data["currency"],
                event_id=event_id,
                as_of=as_of,
            )
        elif kind == "payment.posted":
            change = book.record_payment(
                data["payment_id"],
                date.fromisoformat(data["value_date"]),
                data["amount_minor"],
                data["currency"],
                event_id=event_id,
                as_of=as_of,
            )
        elif kind == "payment.reversed":
            change = book.record_reversal(data["payment_id"], event_id=event_id, as_of=as_of)
        elif kind == "account.reaged":
            change = book.record_reage(
                data["reage_id"],
                date.fromisoformat(data["effective_date"]),
                event_id=event_id,
                as_of=as_of,
            )
        else:
            raise AssertionError(f"the golden file uses an unexpected type {event['type']}")
        self._emit(change)

    def _emit(self, change: StageChanged | None) -> None:
        if change is not None:
            self.changes.append(change)

"""The golden aging cases, played against the pure domain (no broker, no database).

A tiny driver stands in for the service: it skips redeliveries (same source and id), keeps
the calendar (as-of date = last close + 1; a close not after the last one changes nothing),
applies each close to every account, and dead-letters the events the domain rejects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest

from aging_service.domain.account import AccountBook, StageChanged
from aging_service.domain.errors import RejectedEvent
from aging_service.domain.policy import AgingPolicy
from tests.golden import load_golden_cases

CASES = load_golden_cases()


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


@pytest.mark.parametrize("case", [pytest.param(case, id=case["name"]) for case in CASES])
def test_golden_case(case: dict[str, Any]) -> None:
    config = case["config"]
    driver = PureDriver(
        AgingPolicy(grace_days=config["grace_days"], tolerance_minor=config["tolerance_minor"])
    )
    for item in case["events"]:
        driver.deliver(item["event"])

    expect = case["expect"]
    changes = [(c.from_stage, c.to_stage, c.cause) for c in driver.changes]
    assert changes == [(e["from_stage"], e["to_stage"], e["cause"]) for e in expect["changes"]]
    book = driver.books["ACC-1"]
    final = book.assess(driver.as_of)
    oldest = final.oldest_unpaid_due_date
    assert {
        "stage": final.stage,
        "dpd": final.dpd,
        "past_due_minor": final.past_due_minor,
        "oldest_unpaid_due_date": None if oldest is None else oldest.isoformat(),
    } == expect["final"]
    assert book.stage == final.stage
    assert driver.dead_letters == expect["dead_letters"]


def test_there_are_twelve_golden_cases() -> None:
    assert len(CASES) == 12
    assert len({case["name"] for case in CASES}) == 12


def test_every_change_carries_the_account_and_cause_event() -> None:
    case = CASES[0]
    driver = PureDriver(AgingPolicy())
    for item in case["events"]:
        driver.deliver(item["event"])
    first, second, cure = driver.changes
    assert first.account_id == "ACC-1"
    assert first.customer_id == "CUS-1"
    assert first.currency == "CNY"
    assert (first.as_of, first.dpd, first.oldest_unpaid_due_date) == (
        date(2026, 1, 26),
        1,
        date(2026, 1, 25),
    )
    assert (second.as_of, second.dpd, second.cause_event_id) == (date(2026, 2, 25), 31, "evt-0004")
    assert (cure.cause, cure.cause_event_id, cure.dpd, cure.oldest_unpaid_due_date) == (
        "payment",
        "evt-0005",
        0,
        None,
    )

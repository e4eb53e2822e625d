"""Promises to pay (DOMAIN.md section 5).

A promise is kept when the payments made from the day it was made through its date, not
reversed, on the accounts it covers and in its currency, cover its amount; broken otherwise.
It is decided at the close of its date: before that it is open, however much has been paid.
A reversal undoes its payment, so evaluating again after one can turn a kept promise broken.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

__all__ = ["Payment", "Promise", "PromiseStatus", "PromiseView", "evaluate"]


class PromiseStatus(StrEnum):
    """Where a promise stands."""

    OPEN = "open"
    KEPT = "kept"
    BROKEN = "broken"


@dataclass(frozen=True, slots=True)
class Promise:
    """The debtor promised ``amount_minor`` in ``currency`` by ``due_on`` (made on ``made_on``)."""

    promise_id: str
    account_ids: frozenset[str]
    amount_minor: int
    currency: str
    made_on: date
    due_on: date

    def __post_init__(self) -> None:
        if isinstance(self.amount_minor, bool) or self.amount_minor <= 0:
            raise ValueError("a promise is for a positive amount")
        if self.due_on < self.made_on:
            raise ValueError("a promise falls due on or after the day it is made")
        if not self.account_ids:
            raise ValueError("a promise covers at least one account")


@dataclass(frozen=True, slots=True)
class Payment:
    """A posted payment; ``reversed`` when a reversal of it has been seen."""

    account_id: str
    payment_id: str
    amount_minor: int
    currency: str
    value_date: date
    reversed: bool = False


@dataclass(frozen=True, slots=True)
class PromiseView:
    """A promise's status and how much of it is paid so far."""

    status: PromiseStatus
    paid_minor: int


def evaluate(promise: Promise, payments: Iterable[Payment], closed_through: date | None) -> PromiseView:
    """The promise's status once every business day up to ``closed_through`` is closed."""
    paid = sum(
        payment.amount_minor
        for payment in payments
        if not payment.reversed
        and payment.account_id in promise.account_ids
        and payment.currency == promise.currency
        and promise.made_on <= payment.value_date <= promise.due_on
    )
    if closed_through is None or closed_through < promise.due_on:
        return PromiseView(PromiseStatus.OPEN, paid)
    status = PromiseStatus.KEPT if paid >= promise.amount_minor else PromiseStatus.BROKEN
    return PromiseView(status, paid)

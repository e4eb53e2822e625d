"""Promises to pay: kept or broken at the close of their date; reversals undo (DOMAIN.md section 5)."""

from __future__ import annotations

from datetime import date

import pytest

from contact_service.domain.promises import Payment, Promise, PromiseStatus, PromiseView, evaluate

PROMISE = Promise(
    "P1", frozenset({"A1", "A2"}), 50_000, "CNY", made_on=date(2026, 3, 2), due_on=date(2026, 3, 9)
)


def pay(payment_id: str, amount: int, day: int, *, account: str = "A1", reversed_: bool = False) -> Payment:
    return Payment(account, payment_id, amount, "CNY", date(2026, 3, day), reversed_)


class TestPromises:
    def test_open_until_the_close_of_its_date_even_when_paid(self) -> None:
        view = evaluate(PROMISE, [pay("p1", 50_000, 3)], closed_through=date(2026, 3, 8))
        assert view == PromiseView(PromiseStatus.OPEN, 50_000)

    def test_kept_when_payments_on_its_accounts_cover_it_by_its_date(self) -> None:
        payments = [pay("p1", 20_000, 3), pay("p2", 30_000, 9, account="A2")]
        assert evaluate(PROMISE, payments, date(2026, 3, 9)) == PromiseView(PromiseStatus.KEPT, 50_000)

    def test_broken_when_short_by_one_minor_unit(self) -> None:
        payments = [pay("p1", 49_999, 9)]
        assert evaluate(PROMISE, payments, date(2026, 3, 9)).status is PromiseStatus.BROKEN

    def test_payments_after_the_date_before_the_promise_or_elsewhere_do_not_count(self) -> None:
        payments = [
            pay("late", 50_000, 10),
            pay("early", 50_000, 1),
            pay("other", 50_000, 5, account="A9"),
            Payment("A1", "usd", 50_000, "USD", date(2026, 3, 5)),
        ]
        assert evaluate(PROMISE, payments, date(2026, 3, 31)) == PromiseView(PromiseStatus.BROKEN, 0)

    def test_a_reversal_undoes_a_kept_promise(self) -> None:
        kept = evaluate(PROMISE, [pay("p1", 50_000, 4)], date(2026, 3, 9))
        undone = evaluate(PROMISE, [pay("p1", 50_000, 4, reversed_=True)], date(2026, 3, 9))
        assert (kept.status, undone.status) == (PromiseStatus.KEPT, PromiseStatus.BROKEN)

    def test_no_close_yet_is_open(self) -> None:
        assert evaluate(PROMISE, [], None).status is PromiseStatus.OPEN

    def test_invalid_promises_are_refused(self) -> None:
        with pytest.raises(ValueError, match="positive"):
            Promise("P", frozenset({"A1"}), 0, "CNY", date(2026, 3, 2), date(2026, 3, 3))
        with pytest.raises(ValueError, match="on or after"):
            Promise("P", frozenset({"A1"}), 1, "CNY", date(2026, 3, 2), date(2026, 3, 1))

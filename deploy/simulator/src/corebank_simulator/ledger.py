"""What an account owes, as core banking and DOMAIN.md section 4 (rule 2) reckon it.

The simulator keeps its own small ledger per account so that behaviours can act on it
(pay everything owed, restructure once 35 days past due); it is not the aging service's code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

__all__ = ["Due", "Ledger", "Payment", "Reage"]


@dataclass(frozen=True)
class Due:
    """A statement's minimum due."""

    statement_id: str
    statement_date: date
    due_date: date
    minimum_minor: int


@dataclass
class Payment:
    """A posted payment; `reversed` once core banking has undone it."""

    payment_id: str
    value_date: date
    amount_minor: int
    reversed: bool = False


@dataclass(frozen=True)
class Reage:
    """A restructuring: settles what was owed before `effective_date`."""

    reage_id: str
    effective_date: date


@dataclass
class Ledger:
    """One account's dues, payments and reages."""

    dues: list[Due]
    payments: list[Payment]
    reages: list[Reage]

    @classmethod
    def empty(cls) -> Ledger:
        return cls([], [], [])

    def payment(self, payment_id: str) -> Payment | None:
        return next((p for p in self.payments if p.payment_id == payment_id), None)

    def unpaid(self) -> dict[str, int]:
        """The unpaid part of each due, by statement id (rule 2: reages, then payments, by date)."""
        unpaid = {due.statement_id: due.minimum_minor for due in self.dues}
        oldest_first = sorted(self.dues, key=lambda d: (d.due_date, d.statement_date, d.statement_id))
        steps: list[tuple[date, int, str, Reage | Payment]] = [
            (r.effective_date, 0, r.reage_id, r) for r in self.reages
        ]
        steps += [(p.value_date, 1, p.payment_id, p) for p in self.payments if not p.reversed]
        for _, _, _, step in sorted(steps, key=lambda s: s[:3]):
            if isinstance(step, Reage):
                for due in self.dues:
                    if due.statement_date < step.effective_date:
                        unpaid[due.statement_id] = 0
                continue
            left = step.amount_minor
            for due in _payable(oldest_first, step.value_date):
                taken = min(left, unpaid[due.statement_id])
                unpaid[due.statement_id] -= taken
                left -= taken
        return unpaid

    def owed(self, on: date) -> int:
        """Unpaid minimums of the statements issued on or before `on`."""
        unpaid = self.unpaid()
        return sum(unpaid[d.statement_id] for d in self.dues if d.statement_date <= on)

    def days_past_due(self, as_of: date) -> int:
        """Days since the oldest due date before `as_of` with an unpaid part; 0 if none."""
        unpaid = self.unpaid()
        late = [d.due_date for d in self.dues if d.due_date < as_of and unpaid[d.statement_id] > 0]
        return (as_of - min(late)).days if late else 0


def _payable(oldest_first: Iterable[Due], value_date: date) -> Iterable[Due]:
    return (due for due in oldest_first if due.statement_date <= value_date)

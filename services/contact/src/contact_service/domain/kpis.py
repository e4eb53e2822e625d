"""Promise-kept rate and contacts per cure, per month (issue 14). Pure, no I/O.

- Promise-kept rate of a month: promises decided kept in it over those decided kept or broken in
  it (a promise is decided at the close of its due date, or later if a reversal breaks it).
- Contacts per cure of a month: contact attempts (allowed permits, by the debtor's local date)
  over cures (stage changes to the first stage, by their as-of date) in it.

A rate is ``None`` when its denominator is 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from collections_common.months import Month

__all__ = ["MonthFigures", "is_cure", "monthly_figures"]


@dataclass(frozen=True, slots=True)
class MonthFigures:
    month: Month
    kept: int
    broken: int
    attempts: int
    cures: int

    @property
    def promise_kept_rate(self) -> Fraction | None:
        decided = self.kept + self.broken
        return Fraction(self.kept, decided) if decided else None

    @property
    def contacts_per_cure(self) -> Fraction | None:
        return Fraction(self.attempts, self.cures) if self.cures else None


def is_cure(to_stage: str, stages: Sequence[str]) -> bool:
    """A stage change to the first stage (aging emits a change only when the stage changes)."""
    return bool(stages) and to_stage == stages[0]


def monthly_figures(
    months: Sequence[Month],
    *,
    kept: Mapping[Month, int],
    broken: Mapping[Month, int],
    attempts: Mapping[Month, int],
    cures: Mapping[Month, int],
) -> list[MonthFigures]:
    """One ``MonthFigures`` per month of ``months`` (a month missing from a count counts 0)."""
    return [
        MonthFigures(m, kept.get(m, 0), broken.get(m, 0), attempts.get(m, 0), cures.get(m, 0)) for m in months
    ]

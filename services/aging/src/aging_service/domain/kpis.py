"""Roll rates and the cure rate between two month-ends (issue 14). Pure, no I/O.

The input is a transition count: how many accounts were in stage ``a`` at the first month-end
and in stage ``b`` at the next, for every pair ``(a, b)`` seen. An account's stage as of a date is
the stage of its last stage change at or before that date (the first stage before any change);
the repository builds the counts from aging's stage history that way.

- The roll rate of a stage ``S`` is the share of the accounts in ``S`` at the first month-end that
  are in the stage right after ``S`` (one stage worse) at the next. The worst stage has none.
- The cure rate is the share of the accounts delinquent (in any stage but the first) at the first
  month-end that are in the first stage at the next.

A rate is ``None`` when no account was in the stage (or delinquent) at the first month-end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

__all__ = ["MonthEndRates", "Rate", "RollRate", "Transitions", "rates_between"]

#: ``(stage at the first month-end, stage at the next) -> accounts``.
Transitions = Mapping[tuple[str, str], int]


@dataclass(frozen=True, slots=True)
class Rate:
    """``moved`` of ``accounts`` did what the rate counts."""

    accounts: int
    moved: int

    @property
    def rate(self) -> Fraction | None:
        return Fraction(self.moved, self.accounts) if self.accounts else None


@dataclass(frozen=True, slots=True)
class RollRate:
    """Accounts in ``from_stage`` at the first month-end, and how many were in ``to_stage`` at the next."""

    from_stage: str
    to_stage: str
    counts: Rate


@dataclass(frozen=True, slots=True)
class MonthEndRates:
    """The roll rates (in stage order) and the cure rate from ``start`` to ``end``."""

    start: date
    end: date
    roll_rates: tuple[RollRate, ...]
    cure: Rate


def rates_between(
    transitions: Transitions, stages: Sequence[str], *, start: date, end: date
) -> MonthEndRates:
    """Roll rates of every stage but the worst, and the cure rate; see the module docstring.

    ``stages`` is the stage order, best first (the first is the current stage). Accounts in a stage
    ``stages`` does not name (an earlier configuration's) count as delinquent for the cure rate only.
    """
    if not stages:
        raise ValueError("stages must name at least the current stage")
    current = stages[0]
    in_stage: dict[str, int] = {}
    for (before, _), count in transitions.items():
        in_stage[before] = in_stage.get(before, 0) + count
    roll_rates = tuple(
        RollRate(stage, worse, Rate(in_stage.get(stage, 0), transitions.get((stage, worse), 0)))
        for stage, worse in zip(stages, stages[1:], strict=False)
    )
    delinquent = sum(count for (before, _), count in transitions.items() if before != current)
    cured = sum(
        count for (before, after), count in transitions.items() if before != current and after == current
    )
    return MonthEndRates(start, end, roll_rates, Rate(delinquent, cured))

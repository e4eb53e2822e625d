"""Call-task priority (DOMAIN.md section 5; seed 002's 案件优先级分配逻辑).

The score is the sum of four integer parts, each configurable:

- past due: the points of the highest amount tier the past-due amount reaches;
- DPD: one point per ``dpd_step`` days past due, at most ``dpd_cap`` points;
- risk rating: points per rating A (best) to E (worst); no rating counts as ``unrated``;
- signals: the points of every distinct signal (lost contact, many lenders, moving assets...).

Higher scores are called first; ties go to the larger past-due amount, then the larger DPD,
then the smaller customer id, so the order is total and deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["PriorityInputs", "PriorityWeights", "call_order", "score"]


@dataclass(frozen=True, slots=True)
class PriorityWeights:
    """The weights; ``amount_tiers`` pairs a minimum past-due amount (minor units) with points."""

    amount_tiers: tuple[tuple[int, int], ...] = (
        (100_000, 10),
        (500_000, 20),
        (2_000_000, 30),
        (10_000_000, 40),
    )
    dpd_step: int = 3
    dpd_cap: int = 40
    ratings: Mapping[str, int] = field(default_factory=lambda: {"A": 0, "B": 5, "C": 10, "D": 15, "E": 20})
    unrated: int = 10
    signals: Mapping[str, int] = field(
        default_factory=lambda: {
            "lost_contact": 15,
            "multiple_lenders": 10,
            "asset_transfer": 20,
            "unreachable": 15,
        }
    )
    other_signal: int = 5

    def __post_init__(self) -> None:
        if self.dpd_step < 1 or self.dpd_cap < 0:
            raise ValueError("dpd_step must be positive and dpd_cap not negative")
        minimums = [minimum for minimum, _points in self.amount_tiers]
        if minimums != sorted(set(minimums)):
            raise ValueError("amount tiers must have strictly increasing minimums")


@dataclass(frozen=True, slots=True)
class PriorityInputs:
    """What the priority of a debtor's call task depends on."""

    customer_id: str
    past_due_minor: int
    dpd: int
    rating: str | None = None
    signals: frozenset[str] = frozenset()


def score(inputs: PriorityInputs, weights: PriorityWeights = PriorityWeights()) -> int:
    """The task's score (see the module docstring)."""
    amount = max(
        (points for minimum, points in weights.amount_tiers if inputs.past_due_minor >= minimum), default=0
    )
    days = min(max(inputs.dpd, 0) // weights.dpd_step, weights.dpd_cap)
    rating = weights.unrated if inputs.rating is None else weights.ratings.get(inputs.rating, weights.unrated)
    signals = sum(weights.signals.get(signal, weights.other_signal) for signal in inputs.signals)
    return amount + days + rating + signals


def call_order(
    tasks: Iterable[PriorityInputs], weights: PriorityWeights = PriorityWeights()
) -> list[PriorityInputs]:
    """``tasks`` in the order collectors should call them."""
    return sorted(
        tasks,
        key=lambda task: (-score(task, weights), -task.past_due_minor, -task.dpd, task.customer_id),
    )

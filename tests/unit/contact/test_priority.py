"""Call-task priority: deterministic, from past due, DPD, rating and signals (DOMAIN.md section 5)."""

from __future__ import annotations

import pytest

from contact_service.domain.priority import PriorityInputs, PriorityWeights, call_order, score


def task(
    customer: str = "C1", past_due: int = 0, dpd: int = 0, rating: str | None = "A", *signals: str
) -> PriorityInputs:
    return PriorityInputs(customer, past_due, dpd, rating, frozenset(signals))


class TestScore:
    def test_parts_add_up_with_the_default_weights(self) -> None:
        # 600,000 fen reaches the 500,000 tier (20); 45 DPD / 3 = 15; rating D = 15; lost contact 15.
        assert score(task("C1", 600_000, 45, "D", "lost_contact")) == 20 + 15 + 15 + 15

    def test_each_part_raises_the_score(self) -> None:
        base = score(task())
        assert score(task(past_due=100_000)) > base
        assert score(task(dpd=3)) > base
        assert score(task(rating="E")) > base
        assert score(task("C1", 0, 0, "A", "asset_transfer")) > base

    def test_dpd_points_are_capped(self) -> None:
        assert score(task(dpd=10_000)) == score(task(dpd=120)) == 40

    def test_unknown_ratings_and_signals_use_their_defaults(self) -> None:
        assert score(task(rating=None)) == score(task(rating="Z")) == 10
        assert score(task("C1", 0, 0, "A", "new_signal")) == 5

    def test_weights_are_configurable_and_validated(self) -> None:
        weights = PriorityWeights(amount_tiers=((1, 100),), dpd_step=1, dpd_cap=5)
        assert score(task(past_due=1, dpd=9), weights) == 105
        with pytest.raises(ValueError, match="increasing"):
            PriorityWeights(amount_tiers=((10, 1), (5, 2)))


class TestCallOrder:
    def test_highest_score_first_ties_by_amount_dpd_then_customer(self) -> None:
        tasks = [
            task("C4", 100_000, 3),
            task("C3", 0, 0, "A"),
            task("C2", 200_000, 3),
            task("C1", 100_000, 3),
            task("C5", 0, 0, "E", "lost_contact", "asset_transfer"),
        ]
        assert [t.customer_id for t in call_order(tasks)] == ["C5", "C2", "C1", "C4", "C3"]

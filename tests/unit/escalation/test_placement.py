"""Agency placement: eligibility, ranking with explanations, recovery rate, recall, capacity."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalation_service.domain.errors import InvalidTransition
from escalation_service.domain.placement import (
    Agency,
    Allocation,
    PaymentRecord,
    PlacementRecord,
    active_counts,
    allocate,
    expired,
    recall,
    recovery_rate,
)
from escalation_service.domain.rules import PlacementSettings

TODAY = date(2026, 6, 1)
SETTINGS = PlacementSettings()


def agency(
    agency_id: str,
    *,
    regions: tuple[str, ...] = ("SH",),
    capacity: int = 10,
    active: bool = True,
    contract_start: date = date(2026, 1, 1),
    contract_end: date | None = date(2026, 12, 31),
    review_due: date = date(2026, 12, 1),
) -> Agency:
    return Agency(agency_id, frozenset(regions), capacity, active, contract_start, contract_end, review_due)


def place(
    agencies: list[Agency],
    *,
    active: dict[str, int] | None = None,
    rates: dict[str, Fraction | None] | None = None,
    region: str | None = "SH",
) -> Allocation:
    return allocate(
        customer_id="cust-1",
        account_ids=["acc-1", "acc-2"],
        region=region,
        past_due_minor=300_000,
        agencies=agencies,
        active=active or {},
        rates=rates or {},
        today=TODAY,
        settings=SETTINGS,
    )


class TestEligibility:
    @pytest.mark.parametrize(
        ("bad", "refused"),
        [
            (agency("a-bad", active=False), "inactive"),
            (agency("a-bad", review_due=date(2026, 5, 31)), "annual review was due on 2026-05-31"),
            (agency("a-bad", contract_end=date(2026, 5, 31)), "contract ended on 2026-05-31"),
            (agency("a-bad", contract_start=date(2026, 6, 2)), "contract starts on 2026-06-02"),
        ],
    )
    def test_an_agency_that_may_not_take_new_cases_gets_none(self, bad: Agency, refused: str) -> None:
        result = place([bad, agency("a-ok", regions=("BJ",))])
        assert result.agency_id == "a-ok"
        assert result.candidates[0].refused == refused

    def test_review_due_today_and_contract_ending_today_still_take_cases(self) -> None:
        result = place([agency("a", review_due=TODAY, contract_end=TODAY)])
        assert result.agency_id == "a"

    def test_a_full_agency_gets_none_and_with_none_left_nobody_is_chosen(self) -> None:
        result = place([agency("a", capacity=2)], active={"a": 2})
        assert result.agency_id is None
        assert result.candidates[0].refused == "at capacity (2)"


class TestRanking:
    def test_region_first_then_recovery_then_spare_capacity_each_loser_explained(self) -> None:
        result = place(
            [
                agency("a-far", regions=("BJ",)),
                agency("b-weak", capacity=50),
                agency("c-best", capacity=5),
                agency("d-busy"),
            ],
            active={"c-best": 4, "d-busy": 6},
            rates={
                "a-far": Fraction(9, 10),
                "b-weak": Fraction(1, 5),
                "c-best": Fraction(1, 2),
                "d-busy": Fraction(1, 2),
            },
        )
        lost = {c.agency_id: c.lost_because for c in result.candidates}
        assert result.agency_id == "d-busy"  # equal rates: 4 free beats 1 free
        assert lost["a-far"] == "region: does not serve the region against serves the region"
        assert lost["b-weak"] == "recovery_rate: 20.00% against 50.00%"
        assert lost["c-best"] == "spare_capacity: 1 free against 4 free"
        assert lost["d-busy"] is None
        assert (result.placed_on, result.ends_on) == (TODAY, TODAY + timedelta(days=90))
        assert result.account_ids == ("acc-1", "acc-2")

    def test_an_agency_without_history_is_ranked_at_the_mean_of_the_others(self) -> None:
        result = place(
            [agency("a"), agency("b"), agency("new")],
            rates={"a": Fraction(1, 5), "b": Fraction(3, 5), "new": None},
        )
        new = next(c for c in result.candidates if c.agency_id == "new")
        assert new.recovery_rate is None
        assert new.rate_used == Fraction(2, 5)
        assert result.agency_id == "b"

    def test_the_order_of_criteria_is_configuration(self) -> None:
        capacity_first = PlacementSettings(rank_by=("spare_capacity", "region"))
        result = allocate(
            customer_id="c",
            account_ids=["x"],
            region="SH",
            past_due_minor=1,
            agencies=[agency("near", capacity=1), agency("roomy", regions=("BJ",), capacity=9)],
            active={},
            rates={},
            today=TODAY,
            settings=capacity_first,
        )
        assert result.agency_id == "roomy"


class TestRecoveryRate:
    PLACEMENTS = (
        PlacementRecord("p1", "a", "c1", date(2026, 1, 10), date(2026, 4, 10), 100_000),
        PlacementRecord(
            "p2", "a", "c2", date(2026, 2, 1), date(2026, 5, 1), 300_000, recalled_on=date(2026, 3, 1)
        ),
        PlacementRecord(
            "p0", "a", "c3", date(2025, 1, 1), date(2025, 4, 1), 900_000
        ),  # outside the 12 months
        PlacementRecord("p9", "b", "c1", date(2026, 4, 20), date(2026, 7, 19), 100_000),
    )
    PAYMENTS = (
        PaymentRecord("c1", date(2026, 1, 9), 50_000),  # before the placement
        PaymentRecord("c1", date(2026, 2, 1), 30_000),
        PaymentRecord("c1", date(2026, 4, 9), 90_000),  # caps p1 at its 100,000
        PaymentRecord("c2", date(2026, 2, 15), 60_000),
        PaymentRecord("c2", date(2026, 3, 1), 70_000),  # the day of the recall: no longer placed
        PaymentRecord("c3", date(2025, 2, 1), 900_000),
    )

    def test_paid_during_placements_over_past_due_at_placement_in_the_last_12_months(self) -> None:
        rate = recovery_rate("a", self.PLACEMENTS, self.PAYMENTS, as_of=TODAY, window_days=365)
        assert rate == Fraction(100_000 + 60_000, 100_000 + 300_000)

    def test_no_placement_in_the_window_has_no_rate(self) -> None:
        assert recovery_rate("z", self.PLACEMENTS, self.PAYMENTS, as_of=TODAY, window_days=365) is None


class TestRecall:
    RECORD = PlacementRecord("p1", "a", "c1", date(2026, 3, 3), date(2026, 6, 1), 10)

    def test_recall_with_a_reason_and_not_twice(self) -> None:
        done = recall(self.RECORD, "complaint", date(2026, 4, 1))
        assert (done.reason, done.on, done.agency_id) == ("complaint", date(2026, 4, 1), "a")
        with pytest.raises(InvalidTransition, match="already recalled on 2026-04-01"):
            recall(replace(self.RECORD, recalled_on=date(2026, 4, 1)), "cure", TODAY)

    def test_a_placement_expires_on_its_end_date(self) -> None:
        assert expired([self.RECORD], date(2026, 5, 31)) == []
        (recalled,) = expired([self.RECORD], date(2026, 6, 1))
        assert (recalled.reason, recalled.on) == ("expiry", date(2026, 6, 1))


# -- capacity under any sequence of placements and recalls -----------------------------------


@dataclass
class Registry:
    agencies: list[Agency]
    records: list[PlacementRecord] = field(default_factory=list)

    def active_of(self, customer: str, day: date) -> PlacementRecord | None:
        return next((r for r in self.records if r.customer_id == customer and r.active_on(day)), None)


operations = st.lists(
    st.tuples(st.sampled_from(["place", "recall", "wait"]), st.integers(0, 7), st.integers(1, 40)),
    max_size=60,
)


class TestCapacity:
    @settings(max_examples=200, deadline=None)
    @given(
        capacities=st.lists(st.integers(0, 3), min_size=1, max_size=4),
        ops=operations,
        period=st.integers(1, 60),
    )
    def test_active_placements_never_exceed_an_agencys_capacity(
        self, capacities: list[int], ops: list[tuple[str, int, int]], period: int
    ) -> None:
        registry = Registry(
            [
                agency(f"a{n}", capacity=c, contract_end=None, review_due=date(2099, 1, 1))
                for n, c in enumerate(capacities)
            ]
        )
        rules = PlacementSettings(period_days=period)
        day = TODAY
        for op, debtor, days in ops:
            customer = f"c{debtor}"
            current = registry.active_of(customer, day)
            if op == "wait":
                day += timedelta(days=days)
            elif op == "recall" and current is not None:
                done = recall(current, "complaint", day)
                index = registry.records.index(current)
                registry.records[index] = PlacementRecord(
                    current.placement_id,
                    current.agency_id,
                    current.customer_id,
                    current.placed_on,
                    current.ends_on,
                    current.past_due_at_placement_minor,
                    recalled_on=done.on,
                )
            elif op == "place" and current is None:
                counts = active_counts(registry.records, day)
                result = allocate(
                    customer_id=customer,
                    account_ids=["x"],
                    region="SH",
                    past_due_minor=days,
                    agencies=registry.agencies,
                    active=counts,
                    rates={},
                    today=day,
                    settings=rules,
                )
                if result.agency_id is None:
                    assert all(counts.get(a.agency_id, 0) >= a.capacity for a in registry.agencies)
                else:
                    registry.records.append(
                        PlacementRecord(
                            f"p{len(registry.records)}", result.agency_id, customer, day, result.ends_on, days
                        )
                    )
            for a in registry.agencies:
                assert active_counts(registry.records, day).get(a.agency_id, 0) <= a.capacity

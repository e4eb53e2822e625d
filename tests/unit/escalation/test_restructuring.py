"""Restructuring offers: bounds, the schedule in minor units, transitions, the agreed event."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalation_service.domain.errors import InvalidOffer, InvalidTransition, OfferExpired
from escalation_service.domain.restructuring import (
    FeeReduction,
    Offer,
    Terms,
    accept,
    add_months,
    decline,
    expire,
    first_missed,
    make_offer,
    schedule,
)
from escalation_service.domain.rules import RestructuringSettings

SETTINGS = RestructuringSettings()
OFFERED = date(2026, 3, 2)


def terms(instalments: int = 12, *, reduction: FeeReduction | None = None, fee: int = 36_000) -> Terms:
    return Terms(1_000_003, instalments, fee, date(2026, 3, 31), "CNY", reduction)


def offer(t: Terms | None = None) -> Offer:
    return make_offer("off-1", "acc-1", "cust-1", t or terms(), offered_on=OFFERED, settings=SETTINGS)


class TestTerms:
    @pytest.mark.parametrize("count", [0, 61])
    def test_instalments_are_between_1_and_60(self, count: int) -> None:
        with pytest.raises(InvalidOffer, match=f"instalments must be between 1 and 60, got {count}"):
            offer(terms(count))

    def test_a_bank_may_allow_fewer(self) -> None:
        with pytest.raises(InvalidOffer, match="between 1 and 24, got 36"):
            make_offer(
                "o",
                "a",
                "c",
                terms(36),
                offered_on=OFFERED,
                settings=RestructuringSettings(max_instalments=24),
            )

    def test_fee_reduction_in_basis_points_rounds_down_to_the_minor_unit(self) -> None:
        t = terms(reduction=FeeReduction(basis_points=3_333), fee=1_001)
        assert t.fee_reduction_minor == 333  # 1001 * 0.3333 = 333.63
        assert t.total_minor == 1_000_003 + 1_001 - 333

    @pytest.mark.parametrize(
        ("reduction", "message"),
        [
            (FeeReduction(), "exactly one"),
            (FeeReduction(amount_minor=1, basis_points=1), "exactly one"),
            (FeeReduction(amount_minor=36_001), "between 0 and the fee \\(36000\\), got 36001"),
            (FeeReduction(basis_points=10_001), "between 0 and 10000, got 10001"),
        ],
    )
    def test_a_fee_reduction_out_of_bounds_is_refused(self, reduction: FeeReduction, message: str) -> None:
        with pytest.raises(InvalidOffer, match=message):
            offer(terms(reduction=reduction))

    def test_instalments_fall_monthly_on_the_same_day_or_the_months_last(self) -> None:
        dates = [i.due_date for i in schedule(terms(4))]
        assert dates == [date(2026, 3, 31), date(2026, 4, 30), date(2026, 5, 31), date(2026, 6, 30)]
        assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
        assert add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)

    @given(
        outstanding=st.integers(1, 10**15),
        fee=st.integers(0, 10**9),
        count=st.integers(1, 60),
        bp=st.integers(0, 10_000),
    )
    def test_the_schedule_sums_exactly_to_the_total_in_near_equal_parts(
        self, outstanding: int, fee: int, count: int, bp: int
    ) -> None:
        t = Terms(outstanding, count, fee, date(2026, 1, 31), "CNY", FeeReduction(basis_points=bp))
        parts = schedule(t)
        assert len(parts) == count
        assert sum(p.amount_minor for p in parts) == t.total_minor
        assert max(p.amount_minor for p in parts) - min(p.amount_minor for p in parts) <= 1
        assert [p.number for p in parts] == list(range(1, count + 1))


class TestTransitions:
    def test_an_offer_expires_after_the_configured_days(self) -> None:
        assert offer().expires_on == date(2026, 3, 16)

    def test_accepting_gives_the_agreement_and_its_event_for_core_banking(self) -> None:
        accepted, agreement = accept(
            offer(terms(3, reduction=FeeReduction(amount_minor=6_000))), date(2026, 3, 16)
        )
        assert (accepted.status, accepted.answered_on) == ("accepted", date(2026, 3, 16))
        assert agreement.stops_contact is True
        assert agreement.recall_reason == "restructuring_agreed"
        data = agreement.event_data()
        assert data["total_minor"] == 1_000_003 + 30_000
        assert data["instalments"] == [
            {"number": 1, "due_date": "2026-03-31", "amount_minor": 343_335},
            {"number": 2, "due_date": "2026-04-30", "amount_minor": 343_334},
            {"number": 3, "due_date": "2026-05-31", "amount_minor": 343_334},
        ]
        assert (data["account_id"], data["customer_id"], data["currency"]) == ("acc-1", "cust-1", "CNY")
        assert data["effective_date"] == data["agreed_on"] == "2026-03-16"
        assert data["fee_reduction_minor"] == 6_000

    def test_an_offer_cannot_be_accepted_after_its_expiry(self) -> None:
        with pytest.raises(OfferExpired, match="off-1 expired on 2026-03-16"):
            accept(offer(), date(2026, 3, 17))

    def test_a_declined_offer_cannot_be_accepted(self) -> None:
        declined = decline(offer(), date(2026, 3, 5))
        assert declined.status == "declined"
        with pytest.raises(InvalidTransition, match="off-1 is declined; it cannot be accepted"):
            accept(declined, date(2026, 3, 6))

    def test_expiry_only_after_the_last_day(self) -> None:
        with pytest.raises(InvalidTransition, match="open until 2026-03-16"):
            expire(offer(), date(2026, 3, 16))
        assert expire(offer(), date(2026, 3, 17)).status == "expired"


class TestBrokenPlan:
    PLAN = schedule(Terms(300, 3, 0, date(2026, 4, 10), "CNY"))

    def test_a_plan_paid_on_time_is_not_broken(self) -> None:
        paid = [(date(2026, 4, 10), 100), (date(2026, 5, 9), 100)]
        assert first_missed(self.PLAN, paid, as_of=date(2026, 6, 1)) is None

    def test_the_first_instalment_short_after_its_grace_breaks_the_plan(self) -> None:
        paid = [(date(2026, 4, 10), 100), (date(2026, 5, 12), 100)]
        assert first_missed(self.PLAN, paid, as_of=date(2026, 5, 12), grace_days=1) is not None
        missed = first_missed(self.PLAN, paid, as_of=date(2026, 6, 1))
        assert missed is not None and missed.number == 2
        assert first_missed(self.PLAN, paid, as_of=date(2026, 6, 1), grace_days=2) is None

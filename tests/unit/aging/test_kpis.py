"""Roll rates and the cure rate from a transition count, against figures worked out by hand."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from aging_service.domain.kpis import Rate, rates_between
from aging_service.kpi_gauges import latest_month_ends

STAGES = ["CURRENT", "M1", "M2", "M3", "M3+"]
JAN, FEB = date(2024, 1, 31), date(2024, 2, 29)


class TestRatesBetween:
    def test_a_small_portfolio(self) -> None:
        """Seventeen accounts, by stage at 2024-01-31 -> stage at 2024-02-29:

        CURRENT -> CURRENT 6, CURRENT -> M1 2, M1 -> M2 1, M1 -> CURRENT 2, M1 -> M1 1,
        M2 -> M3 1, M2 -> CURRENT 1, M3+ -> M3+ 1 (none in M3 at the first month-end).

        Roll rates: CURRENT -> M1 = 2 / 8 = 0.25; M1 -> M2 = 1 / 4 = 0.25; M2 -> M3 = 1 / 2 = 0.5;
        M3 -> M3+ has no account (None). The worst stage, M3+, has no roll rate.
        Cure rate: delinquent at the first month-end = 4 (M1) + 2 (M2) + 1 (M3+) = 7; current at
        the next = 2 (from M1) + 1 (from M2) = 3; 3 / 7.
        """
        transitions = {
            ("CURRENT", "CURRENT"): 6,
            ("CURRENT", "M1"): 2,
            ("M1", "M2"): 1,
            ("M1", "CURRENT"): 2,
            ("M1", "M1"): 1,
            ("M2", "M3"): 1,
            ("M2", "CURRENT"): 1,
            ("M3+", "M3+"): 1,
        }
        rates = rates_between(transitions, STAGES, start=JAN, end=FEB)
        assert (rates.start, rates.end) == (JAN, FEB)
        assert [(r.from_stage, r.to_stage, r.counts.accounts, r.counts.moved) for r in rates.roll_rates] == [
            ("CURRENT", "M1", 8, 2),
            ("M1", "M2", 4, 1),
            ("M2", "M3", 2, 1),
            ("M3", "M3+", 0, 0),
        ]
        assert [r.counts.rate for r in rates.roll_rates] == [
            Fraction(1, 4),
            Fraction(1, 4),
            Fraction(1, 2),
            None,
        ]
        assert rates.cure == Rate(accounts=7, moved=3)
        assert rates.cure.rate == Fraction(3, 7)

    def test_only_one_stage_worse_counts_as_a_roll(self) -> None:
        """CURRENT -> M2 skips a stage: 1 account in CURRENT, none rolled to M1."""
        rates = rates_between({("CURRENT", "M2"): 1}, STAGES, start=JAN, end=FEB)
        assert rates.roll_rates[0].counts == Rate(accounts=1, moved=0)

    def test_a_stage_of_an_earlier_configuration_counts_only_as_delinquent(self) -> None:
        """OLD -> CURRENT 1, M1 -> M1 1: delinquent 2, cured 1; no roll rate names OLD."""
        rates = rates_between({("OLD", "CURRENT"): 1, ("M1", "M1"): 1}, STAGES, start=JAN, end=FEB)
        assert rates.cure.rate == Fraction(1, 2)
        assert "OLD" not in {r.from_stage for r in rates.roll_rates}

    def test_no_account_means_no_rate_rather_than_zero(self) -> None:
        rates = rates_between({}, STAGES, start=JAN, end=FEB)
        assert rates.cure.rate is None
        assert all(r.counts.rate is None for r in rates.roll_rates)

    def test_the_stages_must_name_the_current_stage(self) -> None:
        with pytest.raises(ValueError):
            rates_between({}, [], start=JAN, end=FEB)


class TestLatestMonthEnds:
    def test_a_close_within_a_month_reaches_back_to_the_previous_month_end(self) -> None:
        assert latest_month_ends(date(2024, 3, 15)) == (date(2024, 1, 31), date(2024, 2, 29))

    def test_a_close_on_a_month_end_counts_that_month_end(self) -> None:
        assert latest_month_ends(date(2024, 3, 31)) == (date(2024, 2, 29), date(2024, 3, 31))

    def test_across_a_year_end(self) -> None:
        assert latest_month_ends(date(2025, 1, 31)) == (date(2024, 12, 31), date(2025, 1, 31))

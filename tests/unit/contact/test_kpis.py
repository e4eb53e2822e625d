"""Promise-kept rate and contacts per cure per month, against figures worked out by hand."""

from __future__ import annotations

from fractions import Fraction

from collections_common.months import Month
from contact_service.domain.kpis import is_cure, monthly_figures

JAN, FEB, MAR = Month(2026, 1), Month(2026, 2), Month(2026, 3)


class TestMonthlyFigures:
    def test_three_months(self) -> None:
        """January: 2 kept, 1 broken -> 2/3; 3 attempts, 2 cures -> 3/2.
        February: 0 kept, 1 broken -> 0; 2 attempts, 1 cure -> 2.
        March: nothing decided, 4 attempts, no cure -> no rate for either."""
        jan, feb, mar = monthly_figures(
            [JAN, FEB, MAR],
            kept={JAN: 2},
            broken={JAN: 1, FEB: 1},
            attempts={JAN: 3, FEB: 2, MAR: 4},
            cures={JAN: 2, FEB: 1},
        )
        assert (jan.month, jan.promise_kept_rate, jan.contacts_per_cure) == (
            JAN,
            Fraction(2, 3),
            Fraction(3, 2),
        )
        assert (feb.promise_kept_rate, feb.contacts_per_cure) == (Fraction(0), Fraction(2))
        assert (mar.promise_kept_rate, mar.contacts_per_cure) == (None, None)
        assert (mar.kept, mar.broken, mar.attempts, mar.cures) == (0, 0, 4, 0)


class TestIsCure:
    def test_a_change_to_the_first_stage_is_a_cure(self) -> None:
        assert is_cure("CURRENT", ("CURRENT", "M1", "M2"))
        assert not is_cure("M1", ("CURRENT", "M1", "M2"))
        assert not is_cure("CURRENT", ())

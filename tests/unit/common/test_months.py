"""Calendar months for the KPIs: parsing YYYY-MM, month-ends, stepping and ranges."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collections_common.months import MONTH_PATTERN, Month, months


class TestMonth:
    def test_parses_yyyy_mm_and_prints_it_back(self) -> None:
        assert Month.parse("2024-02") == Month(2024, 2)
        assert str(Month(2024, 2)) == "2024-02"

    @pytest.mark.parametrize(
        "text", ["2024-13", "2024-00", "2024-2", "24-02", "2024-02-01", " 2024-02", "0000-01"]
    )
    def test_refuses_anything_else(self, text: str) -> None:
        with pytest.raises(ValueError):
            Month.parse(text)

    def test_month_ends_know_leap_years(self) -> None:
        assert Month(2024, 2).last_day == date(2024, 2, 29)
        assert Month(2023, 2).last_day == date(2023, 2, 28)
        assert Month(2024, 12).last_day == date(2024, 12, 31)
        assert Month(2024, 4).first_day == date(2024, 4, 1)

    def test_steps_across_a_year_end(self) -> None:
        assert Month(2024, 12).next() == Month(2025, 1)
        assert Month(2025, 1).previous() == Month(2024, 12)
        assert Month.of(date(2024, 7, 9)) == Month(2024, 7)

    def test_a_range_includes_both_ends(self) -> None:
        assert months(Month(2024, 11), Month(2025, 2)) == [
            Month(2024, 11),
            Month(2024, 12),
            Month(2025, 1),
            Month(2025, 2),
        ]
        assert months(Month(2025, 2), Month(2025, 1)) == []

    def test_a_range_may_end_at_the_last_month_there_is(self) -> None:
        assert months(Month(9999, 11), Month(9999, 12)) == [Month(9999, 11), Month(9999, 12)]


class TestMonthPattern:
    """The pattern the APIs validate with admits exactly the months ``Month`` can hold."""

    @given(st.integers(0, 9999), st.integers(0, 13))
    def test_admits_what_month_can_hold(self, year: int, month: int) -> None:
        text = f"{year:04d}-{month:02d}"
        holdable = 1 <= year <= 9999 and 1 <= month <= 12
        assert bool(re.fullmatch(MONTH_PATTERN, text)) is holdable

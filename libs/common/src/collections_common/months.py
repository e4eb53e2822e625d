"""Calendar months as the KPIs count them: written ``YYYY-MM``, with their first and last days."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

__all__ = ["MONTH_PATTERN", "Month", "months"]

#: ``YYYY-MM``, years 0001 to 9999 and months 01 to 12 (no look-ahead: pydantic's regex has none).
MONTH_PATTERN = r"^([1-9]\d{3}|0[1-9]\d{2}|00[1-9]\d|000[1-9])-(0[1-9]|1[0-2])$"


@dataclass(frozen=True, order=True, slots=True)
class Month:
    """A calendar month."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1 <= self.year <= 9999:
            raise ValueError(f"not a month: {self.year}-{self.month}")

    @classmethod
    def parse(cls, text: str) -> Month:
        """``YYYY-MM``; ``ValueError`` for anything else."""
        if not re.fullmatch(MONTH_PATTERN, text):
            raise ValueError(f"not a month (YYYY-MM): {text!r}")
        return cls(int(text[:4]), int(text[5:]))

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        """The month-end: the as-of date of a month's figures."""
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def months(first: Month, last: Month) -> list[Month]:
    """``first`` to ``last``, both included (empty when ``last`` is before ``first``)."""
    found: list[Month] = []
    month = first
    while month <= last:
        found.append(month)
        if month == last:  # 9999-12 has no next month
            break
        month = month.next()
    return found

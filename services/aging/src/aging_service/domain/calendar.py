"""Rule 1: the as-of date follows core banking's business-day closes."""

from __future__ import annotations

from datetime import date, timedelta


def as_of_after(closed_through: date | None) -> date | None:
    """After ``business-day.closed(D)`` the as-of date is ``D + 1``; none before any close."""
    return None if closed_through is None else closed_through + timedelta(days=1)

"""The debtor's local calendar: days and hours in an IANA timezone, DST-correct (DOMAIN.md section 5).

Every function takes and returns timezone-aware datetimes. A local day starts at its first
instant: when midnight falls in a DST gap, that is the first minute after the gap; when it
occurs twice, the first occurrence.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["local_day", "local_instant", "next_within_hours", "require_aware", "start_of_day", "within_hours"]


def require_aware(at: datetime, name: str = "at") -> datetime:
    """``at`` itself; a naive datetime is a ValueError."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return at


def local_day(at: datetime, tz: ZoneInfo) -> date:
    """The calendar day ``at`` falls on in ``tz``."""
    return require_aware(at).astimezone(tz).date()


def local_instant(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """The first instant at or after ``clock`` on ``day`` in ``tz`` (in UTC).

    A wall-clock time inside a DST gap maps to the instant the gap ends at; an ambiguous one
    to its first occurrence.
    """
    naive = datetime.combine(day, clock)
    instant = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) == naive:
        return instant
    # In a gap, fold=0 reads the clock with the offset before the transition, which lands as far
    # past the gap's end as the clock is past its start: step back to the transition itself.
    return _transition_before(instant, tz)


def _transition_before(instant: datetime, tz: ZoneInfo) -> datetime:
    """The last change of ``tz``'s UTC offset at or before ``instant`` (within a day before it).

    Offsets change on whole seconds, so a search over whole seconds finds it exactly.
    """
    after = instant.astimezone(tz).utcoffset()

    def offset(second: int) -> timedelta | None:
        return datetime.fromtimestamp(second, UTC).astimezone(tz).utcoffset()

    high = math.ceil(instant.timestamp())  # offset(high) == after
    low = high - 86_400  # offset(low) != after: the gap is less than a day behind
    while high - low > 1:
        middle = (low + high) // 2
        if offset(middle) == after:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def start_of_day(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of ``day`` in ``tz`` (in UTC)."""
    return local_instant(day, time(0), tz)


def within_hours(at: datetime, start: time, end: time, tz: ZoneInfo) -> bool:
    """Whether the local wall clock at ``at`` is in ``[start, end)``."""
    clock = require_aware(at).astimezone(tz).time().replace(tzinfo=None)
    return start <= clock < end


def next_within_hours(at: datetime, start: time, end: time, tz: ZoneInfo) -> datetime:
    """The earliest instant at or after ``at`` whose local wall clock is in ``[start, end)``."""
    require_aware(at)
    day = local_day(at, tz)
    for offset in range(3):
        candidate_day = day + timedelta(days=offset)
        opens = local_instant(candidate_day, start, tz)
        closes = local_instant(candidate_day, end, tz)
        candidate = max(opens, at.astimezone(UTC))
        if candidate < closes and within_hours(candidate, start, end, tz):
            return candidate
    raise ValueError("the allowed hours never open")  # pragma: no cover - start < end always opens

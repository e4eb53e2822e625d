"""The agency recovery rate as a KPI, per agency (issue 14). Pure, no I/O.

The rate is ``placement.recovery_rate``, the figure allocation ranks agencies by: what debtors
paid while placed with the agency over their past due at placement, for the placements that
started in the window (payments count up to the past due of their placement).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from escalation_service.domain.placement import PaymentRecord, PlacementRecord, recovery_rate

__all__ = ["AgencyRecovery", "agency_recoveries"]


@dataclass(frozen=True, slots=True)
class AgencyRecovery:
    """An agency's placements that started in the window, and its recovery rate (``None``: none owed)."""

    agency_id: str
    placements: int
    rate: Fraction | None


def agency_recoveries(
    agency_ids: Iterable[str],
    placements: Sequence[PlacementRecord],
    payments: Sequence[PaymentRecord],
    *,
    as_of: date,
    window_days: int,
) -> list[AgencyRecovery]:
    """One figure per agency named in ``agency_ids`` or by a placement, in agency id order."""
    window_start = as_of - timedelta(days=window_days)
    started = [p for p in placements if window_start < p.placed_on <= as_of]
    return [
        AgencyRecovery(
            agency_id=agency,
            placements=sum(1 for p in started if p.agency_id == agency),
            rate=recovery_rate(agency, started, payments, as_of=as_of, window_days=window_days),
        )
        for agency in sorted(set(agency_ids) | {p.agency_id for p in placements})
    ]

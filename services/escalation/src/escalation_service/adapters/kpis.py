"""What the agency recovery KPI reads: the registry's agencies, the placements since a date and
their debtors' payments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from escalation_service.adapters.accounts import BusinessClock, Payments
from escalation_service.adapters.placements import Agencies, Placements
from escalation_service.domain.placement import PaymentRecord, PlacementRecord

__all__ = ["RecoveryFacts", "load_recovery_facts"]


@dataclass(frozen=True, slots=True)
class RecoveryFacts:
    today: date
    agency_ids: list[str]
    placements: list[PlacementRecord]
    payments: list[PaymentRecord]


async def load_recovery_facts(
    session: AsyncSession, *, window_days: int, as_of: date | None
) -> RecoveryFacts:
    """The facts for ``agency_recoveries`` as of ``as_of`` (default: escalation's business day)."""
    today = as_of if as_of is not None else await BusinessClock(session).today()
    since = date.fromordinal(today.toordinal() - window_days)
    placements = await Placements(session).since(since)
    paid = await Payments(session).of_debtors((p.customer_id for p in placements), since)
    return RecoveryFacts(
        today=today,
        agency_ids=[row.agency_id for row in await Agencies(session).all()],
        placements=placements,
        payments=[PaymentRecord(customer, day, amount) for customer, day, amount in paid],
    )

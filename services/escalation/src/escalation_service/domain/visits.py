"""Home visits (seed 003; DOMAIN.md sections 5 and 6). Pure, no I/O.

A scheduled visit is prepared (the materials to show and a plan: seed 003 2.1 and 2.3), arranged
with the debtor in advance (3.1; a contact permit of channel ``visit``), and completed by at least
two distinct named staff of role ``field`` with its outcome and the reference of the visit record
(3.4, 4.1, 四 备案). It may be cancelled until it is completed. Every refusal is an
``InvalidVisit`` or ``InvalidTransition`` whose reason says exactly what is missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from escalation_service.domain.errors import InvalidTransition, InvalidVisit
from escalation_service.domain.rules import VisitSettings

__all__ = [
    "Arrangement",
    "Completion",
    "Preparation",
    "StaffMember",
    "Visit",
    "VisitOutcome",
    "VisitStatus",
    "arrange",
    "cancel",
    "complete",
    "prepare",
    "schedule",
]

VisitStatus = Literal["scheduled", "prepared", "arranged", "completed", "cancelled"]
#: Seed 003 4.1: whether the debtor paid, the plan agreed, or why nothing was.
VisitOutcome = Literal["paid", "promise_to_pay", "plan_agreed", "refused", "not_at_home", "moved", "other"]


@dataclass(frozen=True, slots=True)
class StaffMember:
    """A member of the bank's staff, as the identity provider names them, with their roles."""

    staff_id: str
    name: str
    roles: frozenset[str]


@dataclass(frozen=True, slots=True)
class Preparation:
    """The materials to show (demand notice, repayment agreement ...) and the visit plan."""

    materials: tuple[str, ...]
    plan: str


@dataclass(frozen=True, slots=True)
class Arrangement:
    """When the visit takes place, when the debtor agreed to it, and the permit that allowed it."""

    visit_at: datetime
    arranged_at: datetime
    permit_id: str


@dataclass(frozen=True, slots=True)
class Completion:
    """Who visited, what came of it and where the record is."""

    staff: tuple[StaffMember, ...]
    outcome: VisitOutcome
    record_ref: str
    completed_at: datetime
    notes: str = ""


@dataclass(frozen=True, slots=True)
class Visit:
    """A home visit to a debtor, decided for ``account_id``'s change."""

    visit_id: str
    customer_id: str
    account_id: str
    status: VisitStatus = "scheduled"
    preparation: Preparation | None = None
    arrangement: Arrangement | None = None
    completion: Completion | None = None
    cancel_reason: str | None = None


def _require(visit: Visit, allowed: Sequence[VisitStatus], verb: str) -> None:
    if visit.status not in allowed:
        raise InvalidTransition(f"visit {visit.visit_id} is {visit.status}; it cannot be {verb}")


def _aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidVisit(f"{name} must carry a timezone")


def schedule(visit_id: str, customer_id: str, account_id: str) -> Visit:
    """A new visit, as the ``home-visit`` rule decides it."""
    return Visit(visit_id, customer_id, account_id)


def prepare(visit: Visit, *, materials: Sequence[str], plan: str) -> Visit:
    """Records the materials and the plan (seed 003 2.1, 2.3); may be redone until arranged."""
    _require(visit, ("scheduled", "prepared"), "prepared")
    listed = tuple(m.strip() for m in materials if m.strip())
    if not listed:
        raise InvalidVisit("a visit is prepared with at least one item of materials to show the debtor")
    if not plan.strip():
        raise InvalidVisit("a visit is prepared with a plan: its goal, the approach and the timing")
    return replace(visit, status="prepared", preparation=Preparation(listed, plan.strip()))


def arrange(visit: Visit, *, visit_at: datetime, arranged_at: datetime, permit_id: str) -> Visit:
    """Records the appointment agreed with the debtor before the visit (seed 003 3.1)."""
    _require(visit, ("prepared", "arranged"), "arranged")
    _aware(visit_at, "visit_at")
    _aware(arranged_at, "arranged_at")
    if arranged_at >= visit_at:
        raise InvalidVisit(
            f"a visit is arranged with the debtor in advance: arranged_at {arranged_at.isoformat()} "
            f"is not before visit_at {visit_at.isoformat()}"
        )
    if not permit_id.strip():
        raise InvalidVisit(
            "a visit needs the contact permit (channel visit) that allowed it: permit_id is empty"
        )
    return replace(
        visit, status="arranged", arrangement=Arrangement(visit_at, arranged_at, permit_id.strip())
    )


def complete(
    visit: Visit,
    *,
    staff: Sequence[StaffMember],
    outcome: VisitOutcome,
    record_ref: str,
    completed_at: datetime,
    settings: VisitSettings,
    notes: str = "",
) -> Visit:
    """Records the visit done: by at least ``settings.min_staff`` distinct staff of role
    ``settings.staff_role``, with its outcome and the reference of its record."""
    _require(visit, ("arranged",), "completed")
    assert visit.arrangement is not None
    _aware(completed_at, "completed_at")
    role = settings.staff_role
    outsiders = [f"{m.staff_id} ({m.name})" for m in staff if role not in m.roles]
    if outsiders:
        raise InvalidVisit(f"every visitor must hold role {role!r}; {', '.join(outsiders)} does not")
    distinct = sorted({m.staff_id for m in staff})
    if len(distinct) < settings.min_staff:
        raise InvalidVisit(
            f"a visit is done by at least {settings.min_staff} distinct staff of role {role!r}; "
            f"got {len(distinct)}: {', '.join(distinct) or 'nobody'}"
        )
    if not record_ref.strip():
        raise InvalidVisit("a completed visit needs record_ref: the reference of the visit record")
    if completed_at < visit.arrangement.visit_at:
        raise InvalidVisit(
            f"completed_at {completed_at.isoformat()} is before the arranged visit "
            f"({visit.arrangement.visit_at.isoformat()})"
        )
    unique = tuple({m.staff_id: m for m in staff}.values())
    completion = Completion(unique, outcome, record_ref.strip(), completed_at, notes)
    return replace(visit, status="completed", completion=completion)


def cancel(visit: Visit, reason: str) -> Visit:
    """Cancels a visit not completed yet (a cure, a stop flag, a hold ...)."""
    _require(visit, ("scheduled", "prepared", "arranged"), "cancelled")
    if not reason.strip():
        raise InvalidVisit("a cancelled visit needs a reason")
    return replace(visit, status="cancelled", cancel_reason=reason.strip())

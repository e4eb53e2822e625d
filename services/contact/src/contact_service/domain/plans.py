"""Treatment plans per stage (DOMAIN.md section 5), and the contacts a plan schedules.

A plan says, for each stage, which contacts to make: a channel, a day offset from the day the
case entered the stage (day 0 is that day), optionally a repeat interval in days, the local
time of day, a template and a priority. ``planned_contacts`` turns a plan and a case's stage
entry into dated contacts in the debtor's timezone; the compliance policy still decides each
one when it is due. Loading plans from a file is ``contact_service.plans``.

The service stores one contact of each step at a time: ``first_contacts`` when the case enters
the stage, and ``next_contact`` of a step once its stored one is done with (sent, blocked, or
the call made). A cancellation (a cure, a hold, a stop flag, a move to another stage) then
touches one row per step, not every repeat of the stage, and laying the steps out one by one
leaves, when nothing is cancelled, exactly the contacts ``planned_contacts`` lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from contact_service.domain.contact import Channel
from contact_service.domain.localtime import local_day, local_instant, require_aware

__all__ = [
    "PlanStep",
    "PlannedContact",
    "StagePlan",
    "TreatmentPlan",
    "first_contacts",
    "next_contact",
    "planned_contacts",
    "rezoned",
]


@dataclass(frozen=True, slots=True)
class PlanStep:
    """One contact of a stage's plan; repeats every ``every_days`` up to ``until_day`` when set."""

    channel: Channel
    day: int
    template: str
    priority: int
    at: time = time(10)
    every_days: int | None = None
    until_day: int | None = None

    def __post_init__(self) -> None:
        if self.day < 0:
            raise ValueError("a step's day is an offset from the stage entry, 0 or more")
        if self.every_days is not None and self.every_days < 1:
            raise ValueError("a step repeats every 1 day or more")
        if self.until_day is not None and self.until_day < self.day:
            raise ValueError("a step's until_day is not before its day")


@dataclass(frozen=True, slots=True)
class StagePlan:
    """The steps of one stage."""

    stage: str
    steps: tuple[PlanStep, ...] = ()


@dataclass(frozen=True, slots=True)
class TreatmentPlan:
    """Stage plans by stage name; a stage without a plan schedules nothing."""

    stages: Mapping[str, StagePlan] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PlannedContact:
    """A contact a plan schedules: ``due_at`` is timezone-aware; ``step`` indexes the stage's steps."""

    stage: str
    step: int
    channel: Channel
    due_at: datetime
    template: str
    priority: int


def planned_contacts(
    plan: TreatmentPlan, stage: str, entered_at: datetime, timezone: str, until: datetime
) -> list[PlannedContact]:
    """The contacts ``plan`` schedules for a case that entered ``stage`` at ``entered_at``.

    Days count in the debtor's ``timezone`` from the local day of entry; contacts due before
    ``entered_at`` or after ``until`` are left out. Ordered by due time, then priority (highest
    first), then step.
    """
    require_aware(entered_at, "entered_at")
    require_aware(until, "until")
    stage_plan = plan.stages.get(stage)
    if stage_plan is None:
        return []
    tz = ZoneInfo(timezone)
    first_day = local_day(entered_at, tz)
    contacts: list[PlannedContact] = []
    for index, step in enumerate(stage_plan.steps):
        offset = step.day
        while step.until_day is None or offset <= step.until_day:
            due = local_instant(first_day + timedelta(days=offset), step.at, tz)
            if due > until:
                break
            if due >= entered_at:
                contacts.append(PlannedContact(stage, index, step.channel, due, step.template, step.priority))
            if step.every_days is None:
                break
            offset += step.every_days
    contacts.sort(key=lambda contact: (contact.due_at, -contact.priority, contact.step))
    return contacts


def first_contacts(
    plan: TreatmentPlan, stage: str, entered_at: datetime, timezone: str, until: datetime
) -> list[PlannedContact]:
    """The first contact of each step of ``planned_contacts``, in its order."""
    seen: set[int] = set()
    first = []
    for contact in planned_contacts(plan, stage, entered_at, timezone, until):
        if contact.step not in seen:
            seen.add(contact.step)
            first.append(contact)
    return first


def next_contact(
    plan: TreatmentPlan,
    stage: str,
    entered_at: datetime,
    timezone: str,
    until: datetime,
    *,
    step: int,
    after: datetime,
) -> PlannedContact | None:
    """The contact of ``planned_contacts`` that follows the step's contact due at ``after``;
    None when the step has no more."""
    require_aware(after, "after")
    return next(
        (
            contact
            for contact in planned_contacts(plan, stage, entered_at, timezone, until)
            if contact.step == step and contact.due_at > after
        ),
        None,
    )


def rezoned(due_at: datetime, old: str, new: str) -> datetime:
    """The instant with the local date and wall clock in ``new`` that ``due_at`` has in ``old``.

    A plan laid out before the debtor's timezone was known (a stage change read before the
    account's opening) is moved by it, so its contacts keep their local days and hours.
    """
    local = require_aware(due_at, "due_at").astimezone(ZoneInfo(old))
    return local_instant(local.date(), local.time().replace(tzinfo=None), ZoneInfo(new))

"""Legal files (DOMAIN.md section 6; seeds 000 and 002). Pure, no I/O.

A legal file is opened for a large, fraud-suspected or wilful case or a broken restructuring, and
the legal team records its steps in order, each dated: the lawyer's letter, the filing (of a suit
or an arbitration), the hearing, the judgment (or award). A step may not be skipped or repeated,
is not dated before the step before it or the file's opening, and is not dated in the future.
A file is closed with a reason, at any point.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from escalation_service.domain.errors import InvalidLegalStep, InvalidTransition

__all__ = ["STEP_ORDER", "LegalFile", "LegalStep", "StepKind", "close", "open_file", "record_step"]

StepKind = Literal["lawyers_letter", "filing", "hearing", "judgment"]
STEP_ORDER: tuple[StepKind, ...] = ("lawyers_letter", "filing", "hearing", "judgment")


@dataclass(frozen=True, slots=True)
class LegalStep:
    """One dated step, who recorded it and a reference (letter number, case number ...)."""

    kind: StepKind
    on: date
    recorded_by: str
    reference: str = ""


@dataclass(frozen=True, slots=True)
class LegalFile:
    """A legal file of an account, opened by ``rule_id`` on ``opened_on``."""

    file_id: str
    account_id: str
    customer_id: str
    rule_id: str
    opened_on: date
    steps: tuple[LegalStep, ...] = ()
    closed_on: date | None = None
    close_reason: str | None = None

    @property
    def next_step(self) -> StepKind | None:
        """The step to record next (``None`` after the judgment)."""
        done = len(self.steps)
        return STEP_ORDER[done] if done < len(STEP_ORDER) else None


def open_file(file_id: str, account_id: str, customer_id: str, *, rule_id: str, opened_on: date) -> LegalFile:
    """A new legal file, as the ``legal-file`` rule decides it."""
    return LegalFile(file_id, account_id, customer_id, rule_id, opened_on)


def record_step(
    legal_file: LegalFile, kind: StepKind, *, on: date, today: date, recorded_by: str, reference: str = ""
) -> LegalFile:
    """Records the next step; refuses a step out of order or dated impossibly."""
    if legal_file.closed_on is not None:
        raise InvalidTransition(f"legal file {legal_file.file_id} is closed; no step can be recorded")
    expected = legal_file.next_step
    if expected is None:
        raise InvalidLegalStep(
            f"legal file {legal_file.file_id} has every step up to the judgment; {kind} is too many"
        )
    if kind != expected:
        done = [step.kind for step in legal_file.steps]
        raise InvalidLegalStep(
            f"the next step of legal file {legal_file.file_id} is {expected}, not {kind} "
            f"(steps go {' > '.join(STEP_ORDER)}; done: {', '.join(done) or 'none'})"
        )
    earliest, after = (
        (legal_file.steps[-1].on, legal_file.steps[-1].kind)
        if legal_file.steps
        else (legal_file.opened_on, "opening")
    )
    if on < earliest:
        raise InvalidLegalStep(
            f"{kind} dated {on.isoformat()} is before the {after} ({earliest.isoformat()})"
        )
    if on > today:
        raise InvalidLegalStep(
            f"{kind} dated {on.isoformat()} is in the future (today is {today.isoformat()})"
        )
    if not recorded_by.strip():
        raise InvalidLegalStep("a legal step names who recorded it")
    step = LegalStep(kind, on, recorded_by.strip(), reference.strip())
    return replace(legal_file, steps=(*legal_file.steps, step))


def close(legal_file: LegalFile, *, on: date, reason: str) -> LegalFile:
    """Closes the file (paid, settled, judgment enforced, withdrawn ...)."""
    if legal_file.closed_on is not None:
        raise InvalidTransition(f"legal file {legal_file.file_id} is already closed")
    if not reason.strip():
        raise InvalidLegalStep("a legal file is closed with a reason")
    if on < legal_file.opened_on:
        raise InvalidLegalStep(
            f"closing on {on.isoformat()} is before the opening ({legal_file.opened_on.isoformat()})"
        )
    return replace(legal_file, closed_on=on, close_reason=reason.strip())

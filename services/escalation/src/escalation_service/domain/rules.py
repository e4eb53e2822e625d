"""Escalation rules as configuration (DOMAIN.md section 6): the models, loading and validation.

A bank edits a YAML file (the default ships as ``escalation_service/rules/default.yaml``); it is
validated once, at start, and every problem is reported with the file, the path inside the
document (``rules[2].when[0].stage``) and the line. The evaluator (``evaluator.py``) reads the
validated ``RuleBook`` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from escalation_service.domain.errors import InvalidRules

__all__ = [
    "ACTION_KINDS",
    "ActionKind",
    "CureEffect",
    "PlacementSettings",
    "RankCriterion",
    "RestructuringSettings",
    "Rule",
    "RuleBook",
    "Scope",
    "Trigger",
    "TriggerKind",
    "VisitSettings",
    "default_rules",
    "load_rules",
    "parse_rules",
]

ActionKind = Literal[
    "demand_letter", "home_visit", "restructuring_offer", "agency_placement", "legal_file", "bureau_flag"
]
ACTION_KINDS: tuple[ActionKind, ...] = (
    "demand_letter",
    "home_visit",
    "restructuring_offer",
    "agency_placement",
    "legal_file",
    "bureau_flag",
)
#: What a rule reacts to: an account entering a stage, a change of its flags or risk signals, a
#: collector's ``hardship_reported`` outcome, or an agreed restructuring found broken.
TriggerKind = Literal["stage_entered", "risk_updated", "hardship_reported", "restructuring_broken"]
#: ``account``: once per episode of the account; ``debtor``: once per episode of the debtor (from
#: the first of their accounts leaving CURRENT to the last one returning).
Scope = Literal["account", "debtor"]
#: What a cure does to an action still open: ``close`` it (recall, clear, cancel) or ``keep`` it.
CureEffect = Literal["close", "keep"]
RankCriterion = Literal["region", "recovery_rate", "spare_capacity"]

MinorUnits = Annotated[int, Field(strict=True, ge=0)]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Trigger(_Strict):
    """One way a rule fires; every condition given must hold (absent conditions are not checked).

    ``stage``: for ``stage_entered`` the stage entered (required); for the other kinds the stage
    the account (or, for a debtor rule, the debtor's furthest account) must have reached in the
    current episode.
    """

    event: TriggerKind
    stage: Name | None = None
    min_past_due_minor: MinorUnits | None = None
    address_known: bool | None = None
    flags_any: tuple[Name, ...] = ()
    signals_any: tuple[Name, ...] = ()
    willing_to_pay: bool | None = None

    @model_validator(mode="after")
    def _coherent(self) -> Trigger:
        if self.event == "stage_entered" and self.stage is None:
            raise ValueError("a stage_entered trigger needs `stage`: the stage entered")
        if self.willing_to_pay is not None and self.event != "hardship_reported":
            raise ValueError("`willing_to_pay` is a fact of hardship_reported triggers only")
        return self


class Rule(_Strict):
    """A named rule: the action it takes, whose episode it counts in, and its triggers (any of)."""

    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
    action: ActionKind
    scope: Scope = "account"
    when: tuple[Trigger, ...] = Field(min_length=1)
    enabled: bool = True


class PlacementSettings(_Strict):
    """Agency placement: how long a case stays placed and how agencies are ranked.

    ``rank_by`` orders the criteria; an agency beats another on the first criterion where they
    differ. Defaults: 90 days (section 6), recovery over the last 365 days ("12 months").
    """

    period_days: int = Field(default=90, strict=True, ge=1)
    recovery_window_days: int = Field(default=365, strict=True, ge=1)
    rank_by: tuple[RankCriterion, ...] = Field(
        default=("region", "recovery_rate", "spare_capacity"), min_length=1
    )

    @model_validator(mode="after")
    def _distinct(self) -> PlacementSettings:
        if len(set(self.rank_by)) != len(self.rank_by):
            raise ValueError(f"rank_by lists a criterion twice: {list(self.rank_by)}")
        return self


class RestructuringSettings(_Strict):
    """Restructuring offers: at most 60 instalments (CN 2011 rules art. 70: five years).

    ``offer_valid_days`` (how long an offer may be accepted) is not in the spec; 14 is this
    project's default.
    """

    max_instalments: int = Field(default=60, strict=True, ge=1, le=60)
    offer_valid_days: int = Field(default=14, strict=True, ge=1)


class VisitSettings(_Strict):
    """Home visits (seed 003): how many distinct staff complete one, and the role they hold."""

    min_staff: int = Field(default=2, strict=True, ge=2)
    staff_role: Name = "field"


def _default_on_cure() -> dict[ActionKind, CureEffect]:
    return {
        "demand_letter": "close",
        "home_visit": "close",
        "restructuring_offer": "close",
        "agency_placement": "close",
        "legal_file": "keep",
        "bureau_flag": "close",
    }


class RuleBook(_Strict):
    """The whole configuration: ordered stages (the first is the cure), rules and settings."""

    version: Literal[1]
    stages: tuple[Name, ...] = Field(min_length=2)
    rules: tuple[Rule, ...]
    on_cure: dict[ActionKind, CureEffect] = Field(default_factory=_default_on_cure)
    placement: PlacementSettings = PlacementSettings()
    restructuring: RestructuringSettings = RestructuringSettings()
    visits: VisitSettings = VisitSettings()

    @property
    def cure_stage(self) -> str:
        """The stage of an account that is not delinquent (CURRENT)."""
        return self.stages[0]

    def rank(self, stage: str) -> int:
        """The position of ``stage`` in ``stages`` (0 for the cure stage)."""
        try:
            return self.stages.index(stage)
        except ValueError:
            raise ValueError(f"unknown stage {stage!r} (stages: {', '.join(self.stages)})") from None

    def cure_effect(self, action: ActionKind) -> CureEffect:
        """What a cure does to an open action of this kind (``close`` unless configured)."""
        return self.on_cure.get(action, "close")


# -- loading -------------------------------------------------------------------------------------

Location = tuple[str | int, ...]


def _cross_check(book: RuleBook) -> list[tuple[Location, str]]:
    """Checks that span fields: stage names known and unique, rule ids unique."""
    problems: list[tuple[Location, str]] = []
    known = ", ".join(book.stages)
    if len(set(book.stages)) != len(book.stages):
        problems.append((("stages",), f"stage names must be unique: {list(book.stages)}"))
    seen: set[str] = set()
    for r, rule in enumerate(book.rules):
        if rule.id in seen:
            problems.append((("rules", r, "id"), f"rule id {rule.id!r} is used twice"))
        seen.add(rule.id)
        for t, trigger in enumerate(rule.when):
            where: Location = ("rules", r, "when", t, "stage")
            if trigger.stage is None:
                continue
            if trigger.stage not in book.stages:
                problems.append((where, f"unknown stage {trigger.stage!r} (stages: {known})"))
            elif trigger.event == "stage_entered" and trigger.stage == book.cure_stage:
                problems.append((where, f"{book.cure_stage} cannot be entered: it is the cure"))
    return problems


def _line_of(root: yaml.Node | None, location: Location) -> int | None:
    """The 1-based line of the deepest node of ``location`` found in the YAML node tree."""
    node, line = root, None
    for part in location:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            node = next((value for key, value in node.value if key.value == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            node = None
    if node is not None:
        line = node.start_mark.line + 1
    return line


def _render(location: Sequence[str | int]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(document)"


def _problem(root: yaml.Node | None, location: Location, message: str) -> str:
    line = _line_of(root, location)
    return f"{_render(location)}{f' (line {line})' if line else ''}: {message}"


def parse_rules(text: str, source: str = "<rules>") -> RuleBook:
    """Parses and validates a rules document; raises ``InvalidRules`` listing every problem."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidRules(source, [f"not valid YAML: {exc}"]) from exc
    if not isinstance(data, dict):
        raise InvalidRules(source, ["(document): must be a mapping with `version`, `stages`, `rules`"])
    try:
        book = RuleBook.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        locations = [tuple(error["loc"]) for error in errors]
        # A container that failed only because its items did ("at least 1 item after validation")
        # adds nothing to the items' own errors.
        problems = [
            _problem(root, location, error["msg"])
            for location, error in zip(locations, errors, strict=True)
            if not any(
                len(other) > len(location) and other[: len(location)] == location for other in locations
            )
        ]
        raise InvalidRules(source, problems) from exc
    cross = _cross_check(book)
    if cross:
        raise InvalidRules(source, [_problem(root, location, message) for location, message in cross])
    return book


def load_rules(path: str | Path) -> RuleBook:
    """Reads, parses and validates the rules file at ``path``."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidRules(str(file), [f"cannot read the file: {exc}"]) from exc
    return parse_rules(text, str(file))


def default_rules() -> RuleBook:
    """The rules shipped with the service (section 6 defaults)."""
    text = resources.files("escalation_service").joinpath("rules/default.yaml").read_text("utf-8")
    return parse_rules(text, "escalation_service/rules/default.yaml")

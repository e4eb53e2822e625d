"""Load and validate a treatment-plan file (YAML); every error names the file, line and field."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Annotated

import jinja2
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from contact_service.domain.case import DEFAULT_STAGES
from contact_service.domain.contact import Channel
from contact_service.domain.plans import PlanStep, StagePlan, TreatmentPlan
from contact_service.plans.context import SAMPLE_FACTS, template_context, template_environment

__all__ = ["DEFAULT_PLAN", "LoadedPlan", "PlanError", "load_plan"]

#: The plan shipped with the service.
DEFAULT_PLAN = Path(__file__).with_name("default.yaml")

Location = tuple[str | int, ...]


class PlanError(ValueError):
    """A plan file that cannot be used; ``problems`` are ``file:line:column: field: message`` lines."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("invalid treatment plan:\n" + "\n".join(problems))
        self.problems = tuple(problems)


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel
    day: Annotated[int, Field(ge=0, strict=True)]
    every_days: Annotated[int | None, Field(ge=1, strict=True)] = None
    until_day: Annotated[int | None, Field(ge=0, strict=True)] = None
    at: time = time(10)
    template: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,64}$")]
    priority: Annotated[int, Field(ge=0, le=100, strict=True)]

    @field_validator("at", mode="before")
    @classmethod
    def _quoted_time(cls, value: object) -> object:
        # Unquoted 10:00 is the integer 600 in YAML 1.1; refuse it rather than read 00:10.
        if not isinstance(value, str):
            raise ValueError('write the time of day quoted, e.g. "10:00"')
        return value


class _Stage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: list[_Step]


class _PlanFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    languages: Annotated[list[str], Field(min_length=1)]
    default_language: str
    opt_out: dict[str, Annotated[str, Field(min_length=1)]]
    stages: dict[str, _Stage]


@dataclass(frozen=True, slots=True)
class LoadedPlan:
    """A validated plan file: the plan, its languages and opt-out lines, where its templates are."""

    plan: TreatmentPlan
    languages: tuple[str, ...]
    default_language: str
    opt_out: Mapping[str, str]
    template_dir: Path
    source: Path


def load_plan(
    path: Path = DEFAULT_PLAN, template_dir: Path | None = None, stages: Iterable[str] = DEFAULT_STAGES
) -> LoadedPlan:
    """Read, validate and convert the plan at ``path``; templates default to ``templates/`` beside it."""
    templates = template_dir or path.with_name("templates")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanError([f"{path}: cannot read the file ({exc.strerror})"]) from exc
    try:
        node = yaml.compose(text)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        raise PlanError([f"{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})"]) from exc
    lines = _locations(node)

    def at(loc: Location, message: str) -> str:
        line, column = _nearest(lines, loc)
        field = ".".join(str(part) if isinstance(part, str) else f"[{part}]" for part in loc).replace(
            ".[", "["
        )
        return f"{path}:{line}:{column}: {field or '(top)'}: {message}"

    try:
        parsed = _PlanFile.model_validate(raw)
    except ValidationError as exc:
        raise PlanError([at(tuple(error["loc"]), error["msg"]) for error in exc.errors()]) from None
    problems = _check(parsed, set(stages), templates, at)
    if problems:
        raise PlanError(problems)
    plan = TreatmentPlan(
        {
            name: StagePlan(
                name,
                tuple(
                    PlanStep(
                        channel=step.channel,
                        day=step.day,
                        template=step.template,
                        priority=step.priority,
                        at=step.at,
                        every_days=step.every_days,
                        until_day=step.until_day,
                    )
                    for step in stage.steps
                ),
            )
            for name, stage in parsed.stages.items()
        }
    )
    return LoadedPlan(plan, tuple(parsed.languages), parsed.default_language, parsed.opt_out, templates, path)


def _check(
    parsed: _PlanFile, stages: set[str], templates: Path, at: Callable[[Location, str], str]
) -> list[str]:
    """Cross-field rules pydantic cannot state: names, languages, templates that exist and render."""
    problems: list[str] = []
    env = template_environment(templates)
    if parsed.default_language not in parsed.languages:
        problems.append(at(("default_language",), "must be one of the languages"))
    for language in parsed.languages:
        if language not in parsed.opt_out:
            problems.append(at(("opt_out",), f"no opt-out line for language {language}"))
    for name, stage in parsed.stages.items():
        if name not in stages:
            problems.append(at(("stages", name), f"unknown stage; choose from {sorted(stages)}"))
        for index, step in enumerate(stage.steps):
            loc: Location = ("stages", name, "steps", index)
            if step.until_day is not None and step.until_day < step.day:
                problems.append(at((*loc, "until_day"), "must not be before day"))
            for language in parsed.languages:
                problem = _template_problem(env, language, step.template)
                if problem is not None:
                    problems.append(at((*loc, "template"), problem))
    return problems


def _template_problem(env: jinja2.Environment, language: str, template: str) -> str | None:
    """Why ``<language>/<template>.j2`` cannot be used, or None."""
    name = f"{language}/{template}.j2"
    try:
        env.get_template(name).render(template_context(SAMPLE_FACTS, language))
    except jinja2.TemplateNotFound:
        return f"no template file {name}"
    except jinja2.TemplateSyntaxError as exc:
        return f"template {name} line {exc.lineno}: {exc.message}"
    except jinja2.UndefinedError as exc:
        return f"template {name}: {exc.message}"
    return None


def _locations(node: yaml.Node | None) -> dict[Location, tuple[int, int]]:
    """Line and column (1-based) of every mapping value and sequence item, by its path."""
    found: dict[Location, tuple[int, int]] = {}

    def walk(current: yaml.Node, loc: Location) -> None:
        found[loc] = (current.start_mark.line + 1, current.start_mark.column + 1)
        if isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                walk(value, (*loc, str(key.value)))
        elif isinstance(current, yaml.SequenceNode):
            for index, item in enumerate(current.value):
                walk(item, (*loc, index))

    if node is not None:
        walk(node, ())
    return found


def _nearest(lines: Mapping[Location, tuple[int, int]], loc: Location) -> tuple[int, int]:
    """The position of ``loc``, or of its closest ancestor present in the file."""
    for length in range(len(loc), -1, -1):
        if loc[:length] in lines:
            return lines[loc[:length]]
    return (1, 1)

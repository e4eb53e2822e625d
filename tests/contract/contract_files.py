"""The JSON Schemas of `contracts/events/`, and a validator that checks formats as well.

jsonschema checks `format: date-time` only with an optional package that is not installed, so
an RFC 3339 check of our own is registered here (independent of the code under test).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from tests.golden import shared_dir

FORMAT_CHECKER = FormatChecker()

_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


@FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _is_rfc3339(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    if not _RFC3339.fullmatch(instance):
        return False
    datetime.fromisoformat(instance.upper().replace("Z", "+00:00"))
    return True


@cache
def contract_schemas() -> dict[str, dict[str, Any]]:
    """Every event schema of the contract, by event `type` (its `title`)."""
    folder = shared_dir() / "contracts" / "events"
    schemas = {}
    for path in sorted(folder.glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        schemas[schema["title"]] = schema
    return schemas


@cache
def _validator(event_type: str) -> Draft202012Validator:
    return Draft202012Validator(contract_schemas()[event_type], format_checker=FORMAT_CHECKER)


def schema_errors(event: Any, event_type: str | None = None) -> list[str]:
    """Why the contract schema of `event_type` (default: the event's `type`) refuses `event`."""
    if event_type is None:
        event_type = event.get("type") if isinstance(event, dict) else None
    if event_type not in contract_schemas():
        return [f"no schema for type {event_type!r}"]
    errors = _validator(event_type).iter_errors(event)
    return [f"{error.json_path}: {error.message}" for error in errors]

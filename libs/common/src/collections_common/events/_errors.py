"""Errors of the events package, and how validation errors become one-line reasons.

Hierarchy::

    Exception
    └── InvalidEvent    the bytes are not a valid event of the contract (goes to the DLQ)

The reason is one compact line meant for a Kafka header (`dlq-reason`): it names the field that
failed and the rule it broke, never the offending value (which may be personal data).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

__all__ = ["InvalidEvent", "describe_errors", "json_type_name"]

MAX_REASON_LENGTH = 400
_MAX_ERRORS = 3
# Error types where naming the JSON type of what arrived helps the reader.
_TYPE_ERRORS = frozenset(
    {
        "int_type",
        "string_type",
        "bool_type",
        "dict_type",
        "list_type",
        "model_type",
        "model_attributes_type",
        "date_type",
        "datetime_type",
    }
)


class InvalidEvent(Exception):
    """The message is not a valid event; `reason` says why in one line."""

    def __init__(self, reason: str) -> None:
        reason = " ".join(reason.split())
        if len(reason) > MAX_REASON_LENGTH:
            reason = reason[: MAX_REASON_LENGTH - 3] + "..."
        super().__init__(reason)
        self.reason = reason


def json_type_name(value: object) -> str:
    """Name of the JSON type of a decoded JSON value (`bool` before `int`: bool is an int)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _path(prefix: str, loc: Sequence[int | str]) -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else part
    return out


def _one(prefix: str, error: Any) -> str:
    path = _path(prefix, error["loc"])
    if error["type"] == "missing":
        return f"missing '{path}'"
    message = str(error["msg"])
    if error["type"] in _TYPE_ERRORS:
        message += f" (got {json_type_name(error['input'])})"
    return f"{path}: {message}" if path else message


def describe_errors(exc: ValidationError, *, prefix: str = "") -> str:
    """Render a pydantic `ValidationError` as one line: `data.amount_minor: Input should ...`."""
    errors = exc.errors(include_url=False)
    parts = [_one(prefix, error) for error in errors[:_MAX_ERRORS]]
    if len(errors) > _MAX_ERRORS:
        parts.append(f"(+{len(errors) - _MAX_ERRORS} more)")
    return "; ".join(parts)

"""CloudEvents 1.0 envelope in structured JSON mode: the model, `encode`, `decode`, `new_event`.

On the wire an event is one UTF-8 JSON object::

    {"specversion":"1.0","id":"...","source":"...","type":"...","time":"2026-01-25T16:00:00Z",
     "subject":"ACC-1","datacontenttype":"application/json","data":{...}}

`decode` checks the envelope only; `catalog.parse` also checks `type` and `data`.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from collections_common.nul import ESCAPE, FIELD_NAME, nul_locations

from ._base import PRINTABLE_PATTERN, ContractModel, Omittable
from ._errors import InvalidEvent, describe_errors, json_type_name

__all__ = ["CloudEvent", "decode", "encode", "new_event"]

SPECVERSION: Final = "1.0"
DATACONTENTTYPE: Final = "application/json"

_RFC3339 = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt]"
    r"(?P<time>[0-9]{2}:[0-9]{2}:[0-9]{2})(?P<fraction>\.[0-9]+)?"
    r"(?P<offset>[Zz]|[+-][0-9]{2}:[0-9]{2})?"
)

_UTC_RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?Z")
"""The form producers write (UTC, `Z`, at most microseconds), which `datetime.fromisoformat` reads
as it is: the same instant and the same `timezone.utc` as the general path below."""


def _rfc3339(value: object) -> object:
    """Accept an aware `datetime` or an RFC 3339 date-time string with `Z` or an offset."""
    if isinstance(value, str) and _UTC_RFC3339.fullmatch(value):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass  # not a real date or time: refused below with the general path's reason
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise _naive()
        return value
    if not isinstance(value, str) or not (match := _RFC3339.fullmatch(value)):
        raise PydanticCustomError(
            "datetime_format", "Input should be an RFC 3339 date-time, e.g. 2026-01-25T16:00:00Z"
        )
    if match["offset"] is None:
        raise _naive()
    fraction = (match["fraction"] or "")[:7]  # datetime keeps microseconds
    offset = "+00:00" if match["offset"] in ("Z", "z") else match["offset"]
    try:
        return datetime.fromisoformat(f"{match['date']}T{match['time']}{fraction}{offset}")
    except ValueError as exc:
        raise PydanticCustomError(
            "datetime_value", "Input should be a valid date-time: {error}", {"error": str(exc)}
        ) from None


def _naive() -> PydanticCustomError:
    return PydanticCustomError(
        "timezone_aware", "Input should have a timezone: RFC 3339 needs 'Z' or an offset"
    )


def _rfc3339_utc(value: datetime) -> str:
    """`2026-01-25T16:00:00Z`: UTC, with microseconds only when there are some."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


Rfc3339DateTime = Annotated[
    datetime,
    BeforeValidator(_rfc3339),
    PlainSerializer(_rfc3339_utc, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""A timezone-aware instant; on the wire RFC 3339, written in UTC with `Z`."""


class CloudEvent(ContractModel):
    """A CloudEvents 1.0 event; `data` is the raw JSON object (see `catalog.parse`)."""

    specversion: Literal["1.0"]
    id: Annotated[str, Field(min_length=1, max_length=255, pattern=PRINTABLE_PATTERN)]
    source: Annotated[
        str,
        Field(
            min_length=1, max_length=255, pattern=PRINTABLE_PATTERN, description="the producer, e.g. `aging`"
        ),
    ]
    type: Annotated[str, Field(min_length=1)]
    time: Omittable[Rfc3339DateTime] = None
    subject: Omittable[Annotated[str, Field(description="the account id, or `calendar`")]] = None
    datacontenttype: Literal["application/json"] = DATACONTENTTYPE
    data: dict[str, Any]

    @property
    def identity(self) -> tuple[str, str]:
        """`(source, id)`: two events with the same identity are the same event."""
        return (self.source, self.id)


def encode(event: CloudEvent) -> bytes:
    """Serialise to compact UTF-8 JSON (dates ISO, `time` RFC 3339 in UTC with `Z`)."""
    return _COMPACT_JSON.encode(event.model_dump(mode="json")).encode()


def decode(raw: bytes) -> CloudEvent:
    """Parse one structured-mode CloudEvent; raise `InvalidEvent` saying what is wrong."""
    body = _load_json(raw)
    if not isinstance(body, dict):
        raise InvalidEvent(f"not a CloudEvent: expected a JSON object, got {json_type_name(body)}")
    if "specversion" not in body:
        raise InvalidEvent("not a CloudEvent: missing 'specversion'")
    if (version := body["specversion"]) != SPECVERSION:
        got = json_type_name(version)  # the type only: a reason never echoes the sender's values
        raise InvalidEvent(f"not a CloudEvent: specversion should be '{SPECVERSION}' (got {got})")
    try:
        return CloudEvent.model_validate(body)
    except ValidationError as exc:
        raise InvalidEvent(f"not a CloudEvent: {describe_errors(exc)}") from None


def new_event(
    type: str,
    source: str,
    subject: str | None,
    data_model: BaseModel,
    id: str | None = None,
    time: datetime | None = None,
) -> CloudEvent:
    """Build an event to publish: `id` a new UUID4, `time` now (UTC) unless given."""
    fields: dict[str, Any] = {
        "specversion": SPECVERSION,
        "id": id if id is not None else str(uuid.uuid4()),
        "source": source,
        "type": type,
        "time": time if time is not None else datetime.now(UTC),
        "datacontenttype": DATACONTENTTYPE,
        "data": data_model.model_dump(mode="json"),
    }
    if subject is not None:
        fields["subject"] = subject
    return CloudEvent.model_validate(fields)


def _load_json(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidEvent(f"not JSON: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        body = _STRICT_JSON.decode(text)
    except RecursionError:
        raise InvalidEvent("not JSON: nested too deeply") from None
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise InvalidEvent(f"not JSON: {exc}") from None
    if ESCAPE in text and (where := _nul_at(body)) is not None:
        raise InvalidEvent(f"{where}: text should not contain a NUL character (stored text cannot hold one)")
    return body


def _nul_at(body: Any) -> str | None:
    """Where the first string or object name holding NUL is in a decoded document, as a reason
    names a field (``data.holder.phones[1]``), or None when none does."""
    for location in nul_locations(body):
        path = ""
        for step in location:
            path += f"[{step}]" if isinstance(step, int) else (f".{step}" if path else step)
        return path or "the document"
    return None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Refuse an object with a repeated name: parsers disagree on which value wins."""
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    for name, _ in pairs:
        if name in seen:
            raise ValueError(f"duplicate name {_short(name)} in an object")
        seen.add(name)
    raise AssertionError("unreachable: fewer names than pairs means a repeated name")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


_STRICT_JSON: Final = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
"""One decoder for every record (``json.loads`` with options builds a new one per call)."""

_COMPACT_JSON: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
"""One encoder for every event (``json.dumps`` with options builds a new one per call)."""


def _short(name: str) -> str:
    """A field name for a reason: quoted when it looks like one (a schema's word, not data),
    else only said to be a name, so a reason never carries what a sender put there."""
    return repr(name) if FIELD_NAME.fullmatch(name) else "a name"

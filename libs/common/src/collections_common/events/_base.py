"""The base of the contract models (envelope and `data`) and the field types the schemas use.

Rules shared by all models, as in `contracts/events/*.schema.json`:

- strict types: an integer is a JSON integer (not a string, a float or a boolean), a string is
  a JSON string, a boolean a JSON boolean;
- unknown extra fields are ignored;
- an optional field may be absent but not `null` (the schemas do not allow null there); a
  field the schemas allow to be null is required and typed `X | None`;
- serialisation leaves absent optional fields out, so the output validates against the schemas.

Two rules go beyond the letter of the schemas, because what breaks them cannot be stored: no
string anywhere in an event may hold NUL (`envelope.decode` refuses it, naming the field), and an
e-mail address keeps RFC 5321's form and lengths (`Email`).

Regular expressions use `[0-9]`, not `\\d`: JSON Schema patterns are ECMA-262, where `\\d` is an
ASCII digit, while pydantic's (Rust) and Python's `\\d` also match other scripts' digits.
"""

from __future__ import annotations

import functools
import re
from datetime import date
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    WithJsonSchema,
    model_serializer,
)
from pydantic_core import PydanticCustomError

__all__ = [
    "ContractModel",
    "CountryCode",
    "Currency",
    "Email",
    "EventData",
    "Identifier",
    "IsoDate",
    "MinorAmount",
    "Omittable",
    "Phone",
    "PositiveMinorAmount",
    "Text",
]

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DATE_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def _iso_date(value: object) -> object:
    """Accept a `date` (not a `datetime`) or a `YYYY-MM-DD` string that is a real calendar date."""
    if isinstance(value, str):
        if not _DATE.fullmatch(value):
            raise PydanticCustomError("date_format", "Input should be a date in YYYY-MM-DD format")
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise PydanticCustomError(
                "date_value", "Input should be a valid calendar date: {error}", {"error": str(exc)}
            ) from None
    return value


IsoDate = Annotated[
    date,
    BeforeValidator(_iso_date),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DATE_PATTERN}),
]
"""A calendar date, on the wire `YYYY-MM-DD` exactly."""

PRINTABLE_PATTERN = "^[^\u0000-\u001f\u007f]+$"
"""No control character (C0 or DEL), at least one character."""

NO_NUL_PATTERN = "^[^\u0000]*$"
"""Any text without a NUL character (PostgreSQL text cannot hold one)."""

MAX_MINOR_AMOUNT = 10**15
"""The largest amount any event carries, in minor units."""

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=PRINTABLE_PATTERN)]
"""An account, customer, statement, payment or reage id: 1 to 64 printable characters."""

Text = Annotated[str, StringConstraints(pattern=NO_NUL_PATTERN)]
"""Free text (a reason, a channel): anything but NUL."""

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
"""An ISO 4217 alphabetic currency code, e.g. `CNY`."""

CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
"""An ISO 3166-1 alpha-2 country code, e.g. `CN`."""

Phone = Annotated[str, StringConstraints(pattern=r"^\+[1-9][0-9]{6,14}$")]
"""A phone number in E.164 form, e.g. `+8613800000000`."""

_EMAIL = re.compile("[^@\\s\u0000-\u001f\u007f]{1,64}@[^@\\s\u0000-\u001f\u007f]{1,253}")


def _email(value: str) -> str:
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise PydanticCustomError(
            "email",
            "Input should be an e-mail address: local@domain, without spaces or control characters,"
            " the local part at most 64 characters and the whole at most 254 (RFC 5321)",
        )
    return value


Email = Annotated[str, AfterValidator(_email), WithJsonSchema({"type": "string", "format": "email"})]
"""An e-mail address (the schemas say `format: email`): `local@domain` within RFC 5321's lengths
(64 for the local part, 254 in all), without whitespace or control characters."""

MinorAmount = Annotated[int, Field(ge=0, le=MAX_MINOR_AMOUNT)]
"""Money as a count of minor units (e.g. fen), from zero to ``MAX_MINOR_AMOUNT``."""

PositiveMinorAmount = Annotated[int, Field(ge=1, le=MAX_MINOR_AMOUNT)]
"""Money as a count of minor units, from 1 to ``MAX_MINOR_AMOUNT``."""


def _not_null(value: object) -> object:
    """Reject an explicit `null` in an optional field: the schemas want it left out."""
    if value is None:
        raise PydanticCustomError(
            "null_not_allowed", "Input should not be null (leave the field out instead)"
        )
    return value


_T = TypeVar("_T")

Omittable = Annotated[_T | None, BeforeValidator(_not_null)]
"""An optional field: it may be absent (then `None`), but not `null`. Declared as
`name: Omittable[X] = None`; the check runs only when the field is present."""


class ContractModel(BaseModel):
    """Strict, immutable, unknown fields ignored; optional (`Omittable`) means absent, never null."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    @model_serializer(mode="wrap")
    def _omit_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Leave out optional fields that are absent (None); keep required nullable ones."""
        omittable = _omittable(type(self))
        dumped: dict[str, Any] = handler(self)
        return {name: v for name, v in dumped.items() if v is not None or name not in omittable}


@functools.cache
def _omittable(model: type[BaseModel]) -> frozenset[str]:
    """The optional fields of ``model`` (computed once per class: dumps are on the hot path)."""
    return frozenset(name for name, field in model.model_fields.items() if not field.is_required())


class EventData(ContractModel):
    """Base of every event `data` model."""

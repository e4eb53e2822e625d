"""What the escalation API's routers share: roles, pagination, the business day, ids."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request

from collections_common.api import MAX_BIGINT
from collections_common.auth import Role, StaffPrincipal, require_roles
from collections_common.events._base import PRINTABLE_PATTERN
from collections_common.problems import InvalidRequest, Problem
from escalation_service.settings import EscalationSettings

__all__ = [
    "ERRORS",
    "Cursor",
    "Limit",
    "ResourceId",
    "SettingsDep",
    "actor_of",
    "decode_cursor",
    "encode_cursor",
    "staff",
]

ResourceId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=PRINTABLE_PATTERN, description="1-64 printable characters")
]
Cursor = Annotated[
    str | None,
    Query(max_length=64, description="the `next_cursor` of the previous page; absent for the first"),
]
Limit = Annotated[int, Query(ge=1, le=200, description="items per page")]
FilterId = Annotated[str | None, Query(min_length=1, max_length=64, pattern=PRINTABLE_PATTERN)]

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "a cursor this API did not give"},
    404: {"model": Problem, "description": "no such item"},
    409: {"model": Problem, "description": "the item's state does not allow this"},
}


def encode_cursor(seq: int | None) -> str | None:
    return None if seq is None else base64.urlsafe_b64encode(f"s{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The position a cursor points at; ``InvalidRequest`` for anything this API did not give."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidRequest("cursor: not a cursor this API returned") from None
    if re.fullmatch(r"s(0|[1-9][0-9]{0,18})", text) is None or int(text[1:]) > MAX_BIGINT:
        raise InvalidRequest("cursor: not a cursor this API returned")
    return int(text[1:])


def staff(*roles: Role) -> Any:
    """A dependency admitting ``roles``; it answers the principal."""
    return Depends(require_roles(*roles))


def actor_of(principal: StaffPrincipal) -> str:
    """How an action records who did it: ``staff:<subject>``."""
    return f"staff:{principal.subject}"


def _settings(request: Request) -> EscalationSettings:
    settings: EscalationSettings = request.app.state.escalation_settings
    return settings


SettingsDep = Annotated[EscalationSettings, Depends(_settings)]

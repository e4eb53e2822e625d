"""Opaque cursors for paginated lists: base64url of a small JSON array."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from collections_common.api import MAX_BIGINT
from collections_common.problems import InvalidRequest

__all__ = ["decode_cursor", "encode_cursor"]


def encode_cursor(*parts: Any) -> str:
    values = [part.isoformat() if isinstance(part, datetime) else part for part in parts]
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kinds: tuple[type, ...]) -> tuple[Any, ...]:
    """The parts of ``cursor``, each converted to its kind; a cursor this API did not give is a 400."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(kinds):
            raise ValueError
        parts: list[Any] = []
        for value, kind in zip(raw, kinds, strict=True):
            if kind is datetime:
                parsed = datetime.fromisoformat(value)
                if parsed.tzinfo is None:
                    raise ValueError
                parts.append(parsed)
            elif kind is int and isinstance(value, int) and not isinstance(value, bool):
                if not -MAX_BIGINT - 1 <= value <= MAX_BIGINT:
                    raise ValueError
                parts.append(value)
            elif kind is str and isinstance(value, str):
                if "\x00" in value or len(value) > 255:
                    raise ValueError
                parts.append(value)
            else:
                raise ValueError
        return tuple(parts)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidRequest("the cursor is not one this list gave") from None

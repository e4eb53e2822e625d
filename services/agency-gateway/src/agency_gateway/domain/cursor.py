"""The opaque cursor of ``GET /v1/cases``: the last change sequence the caller has seen.

Each agency's cases carry a change sequence that grows with every change and is assigned in
commit order (adapters hold a per-agency lock while assigning it), so "sequence greater than the
cursor's" is exactly "new or changed since the cursor": nothing skipped, nothing repeated.
"""

from __future__ import annotations

import base64
import re

from agency_gateway.domain.errors import InvalidCursor

_PREFIX = "c1."
_SHAPE = re.compile(r"c1\.(0|[1-9][0-9]{0,18})")
MAX_SEQUENCE = 2**63 - 1


def encode_cursor(sequence: int) -> str:
    if not 0 <= sequence <= MAX_SEQUENCE:
        raise ValueError("sequence out of range")
    return base64.urlsafe_b64encode(f"{_PREFIX}{sequence}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The sequence in ``cursor``; no cursor is the start (0). Raises InvalidCursor."""
    if cursor is None or cursor == "":
        return 0
    if len(cursor) > 64:
        raise InvalidCursor()
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        raise InvalidCursor() from None
    match = _SHAPE.fullmatch(text)
    if match is None or int(match.group(1)) > MAX_SEQUENCE:
        raise InvalidCursor()
    return int(match.group(1))

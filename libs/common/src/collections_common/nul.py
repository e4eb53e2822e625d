"""Where text holds NUL, which no service can store (PostgreSQL's text refuses it).

Events (``events.envelope.decode``) and HTTP requests (``web.refuse_nul``) are checked with the
same walk of their decoded JSON."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Final

FIELD_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
"""A name that may be echoed in an error; any other is given as ``(a name)`` (it is the sender's
text, and may be personal data)."""

ESCAPE: Final = "\\u0000"
"""JSON can carry NUL only as this escape: a document without these six characters holds none,
so callers look for them before they walk the document."""

Location = tuple[str | int, ...]


def shown_name(name: str) -> str:
    """``name`` as an error may show it: itself when it is a plain ``FIELD_NAME``, else ``(a name)``."""
    return name if FIELD_NAME.fullmatch(name) else "(a name)"


def nul_locations(node: Any, at: Location = ()) -> Iterator[Location]:
    """The location of each string and object name holding NUL in a decoded JSON document, in
    document order: object names (``shown_name``) and list indexes from the top."""
    if isinstance(node, str):
        if "\x00" in node:
            yield at
    elif isinstance(node, dict):
        for name, value in node.items():
            inner = (*at, shown_name(name))
            if "\x00" in name:
                yield inner
            else:
                yield from nul_locations(value, inner)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from nul_locations(value, (*at, index))

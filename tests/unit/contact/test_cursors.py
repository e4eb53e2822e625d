"""The contact API's opaque cursors: what they encode comes back; a forged one is a 400, never a
value the database cannot hold."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from collections_common.problems import InvalidRequest
from contact_service.api.cursors import decode_cursor, encode_cursor


def forged(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode()


class TestCursors:
    def test_a_cursor_decodes_to_what_it_encodes(self) -> None:
        at = datetime(2026, 3, 2, 3, tzinfo=UTC)
        assert decode_cursor(encode_cursor(at, 2**63 - 1, "P-1"), (datetime, int, str)) == (
            at,
            2**63 - 1,
            "P-1",
        )

    @pytest.mark.parametrize(
        ("cursor", "kinds"),
        [
            (forged(2**63), (int,)),
            (forged(-(2**63) - 1), (int,)),
            (forged(True), (int,)),
            (forged("P\x00"), (str,)),
            (forged("x" * 256), (str,)),
            (forged(1, 2), (int,)),
            (forged("2026-03-02T03:00:00"), (datetime,)),
            ("!!", (int,)),
        ],
    )
    def test_a_forged_cursor_is_an_invalid_request(self, cursor: str, kinds: tuple[type, ...]) -> None:
        with pytest.raises(InvalidRequest):
            decode_cursor(cursor, kinds)

"""The models enforce the bounds the contract schemas state, read from the schema files.

For every bounded field of every event schema (``maximum``, ``maxLength``, a pattern that bars
NUL), a valid example event is changed at that one field: at the bound it is accepted, one past
it (or with a NUL) it is rejected. A bound changed in the schemas or in the models fails here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from collections_common.events import CATALOG, InvalidEvent, encode, parse
from collections_common.events._examples import example_events
from tests.contract.contract_files import contract_schemas

EXAMPLES = {event.type: event for event in example_events()}


def _bounded(event_type: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(where, field, schema) of every bounded string or integer field: envelope and data."""
    schema = contract_schemas()[event_type]
    for name, field in schema["properties"].items():
        if name != "data" and _is_bounded(field):
            yield "envelope", name, field
    data = schema["properties"]["data"]
    if "$ref" in data:  # the project's own schemas keep models under $defs
        data = schema["$defs"][data["$ref"].rsplit("/", 1)[1]]
    for name, field in data["properties"].items():
        if _is_bounded(field):
            yield "data", name, field


def _is_bounded(field: dict[str, Any]) -> bool:
    return "maximum" in field or "maxLength" in field or "\x00" in field.get("pattern", "")


CASES = [
    pytest.param(event_type, where, name, field, id=f"{event_type}:{where}.{name}")
    for event_type in sorted(CATALOG)
    for where, name, field in _bounded(event_type)
]


def _with(event_type: str, where: str, name: str, value: object) -> bytes:
    body = json.loads(encode(EXAMPLES[event_type]))
    if where == "envelope":
        body[name] = value
    else:
        body["data"][name] = value
    return json.dumps(body).encode()


def _accepted(raw: bytes) -> bool:
    try:
        parse(raw)
    except InvalidEvent:
        return False
    return True


class TestTheModelsEnforceTheSchemaBounds:
    def test_the_schemas_have_bounds_to_check(self) -> None:
        fields = {(where, name) for _, where, name, _ in (case.values for case in CASES)}
        assert {("envelope", "id"), ("envelope", "source"), ("data", "amount_minor")} <= fields

    @pytest.mark.parametrize(("event_type", "where", "name", "field"), CASES)
    def test_a_value_at_the_bound_is_accepted_and_one_past_it_rejected(
        self, event_type: str, where: str, name: str, field: dict[str, Any]
    ) -> None:
        if "maximum" in field:
            maximum = field["maximum"]
            assert _accepted(_with(event_type, where, name, maximum))
            assert not _accepted(_with(event_type, where, name, maximum + 1))
        if "maxLength" in field:
            longest = field["maxLength"]
            assert _accepted(_with(event_type, where, name, "x" * longest))
            assert not _accepted(_with(event_type, where, name, "x" * (longest + 1)))

    @pytest.mark.parametrize(("event_type", "where", "name", "field"), CASES)
    def test_text_with_a_nul_is_rejected_where_the_schema_bars_it(
        self, event_type: str, where: str, name: str, field: dict[str, Any]
    ) -> None:
        if "\x00" not in field.get("pattern", ""):
            return
        assert _accepted(_with(event_type, where, name, "ok"))
        assert not _accepted(_with(event_type, where, name, "o\x00k"))


class TestTheLastDate:
    def test_a_close_for_the_last_date_is_rejected_the_day_before_accepted(self) -> None:
        assert not _accepted(_with("corebank.business-day.closed", "data", "business_date", "9999-12-31"))
        assert _accepted(_with("corebank.business-day.closed", "data", "business_date", "9999-12-30"))

    def test_a_statement_due_on_the_last_date_is_valid(self) -> None:
        assert _accepted(_with("corebank.statement.issued", "data", "due_date", "9999-12-31"))

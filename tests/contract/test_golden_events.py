"""Every event of the golden aging cases is valid by the contract schemas and by `parse`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from collections_common.events import CATALOG, parse
from tests.contract.contract_files import schema_errors
from tests.golden import load_golden_cases

GOLDEN_ITEMS = [
    (f"{case_index}-{item['event']['id']}", item["topic"], item["event"])
    for case_index, case in enumerate(load_golden_cases())
    for item in case["events"]
]
GOLDEN_EVENTS = [pytest.param(topic, event, id=id_) for id_, topic, event in GOLDEN_ITEMS]


def test_the_golden_events_use_only_types_of_the_catalog() -> None:
    assert GOLDEN_ITEMS
    assert {event["type"] for _, _, event in GOLDEN_ITEMS} <= set(CATALOG)


@pytest.mark.parametrize(("topic", "event"), GOLDEN_EVENTS)
def test_a_golden_event_is_schema_valid_and_parses_on_its_topic(
    topic: str,
    event: dict[str, Any],
) -> None:
    assert schema_errors(event) == []
    parsed = parse(json.dumps(event).encode(), topic=topic)
    assert parsed.envelope.id == event["id"]
    assert parsed.envelope.type == event["type"]
    assert parsed.data.model_dump(mode="json") == event["data"]


def test_the_golden_dead_letters_are_semantic_errors_not_schema_errors() -> None:
    """The currency mismatch and the conflicting duplicate pass the schema: aging refuses them."""
    events = {item["event"]["id"]: item for case in load_golden_cases() for item in case["events"]}
    dead = [id_ for case in load_golden_cases() for id_ in case["expect"]["dead_letters"]]
    assert dead, "the golden cases name their dead letters"
    for event_id in dead:
        item = events[event_id]
        assert schema_errors(item["event"]) == []
        parse(json.dumps(item["event"]).encode(), topic=item["topic"])

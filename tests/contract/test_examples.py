"""Events built by the models are valid by the contract schemas, and parse back unchanged."""

from __future__ import annotations

import json

import pytest

from collections_common.events import CATALOG, CloudEvent, encode, parse, spec_for
from collections_common.events._examples import EXAMPLE_DATA, example_events
from tests.contract.contract_files import contract_schemas, schema_errors

EXAMPLES = {event.type: event for event in example_events()}


def test_there_is_one_example_per_type_of_the_catalog() -> None:
    assert len(EXAMPLE_DATA) == len(CATALOG)
    assert set(EXAMPLES) == set(CATALOG)


def test_the_catalog_has_exactly_the_types_and_topics_of_the_contract() -> None:
    schemas = contract_schemas()
    assert set(CATALOG) == set(schemas)
    assert {t: spec.topic for t, spec in CATALOG.items()} == {
        t: schema["x-topic"] for t, schema in schemas.items()
    }


@pytest.mark.parametrize("event", EXAMPLES.values(), ids=list(EXAMPLES))
def test_an_example_encodes_to_schema_valid_json(event: CloudEvent) -> None:
    body = json.loads(encode(event))
    assert schema_errors(body) == []


@pytest.mark.parametrize("event", EXAMPLES.values(), ids=list(EXAMPLES))
def test_an_example_parses_back_unchanged_on_its_topic(event: CloudEvent) -> None:
    parsed = parse(encode(event), topic=spec_for(event.type).topic)
    assert parsed.envelope == event
    assert type(parsed.data) is spec_for(event.type).model
    assert parsed.data.model_dump(mode="json") == event.data


def test_absent_optional_fields_are_left_out_and_required_nulls_kept() -> None:
    stage = EXAMPLES["collections.stage.changed"].data
    cured = {
        **stage,
        "to_stage": "CURRENT",
        "oldest_unpaid_due_date": None,
        "customer_id": None,
    }
    event = EXAMPLES["collections.stage.changed"].model_copy(update={"data": cured})
    body = json.loads(encode(event))
    assert body["data"]["customer_id"] is None
    assert body["data"]["oldest_unpaid_due_date"] is None
    assert schema_errors(body) == []

    closed = spec_for("corebank.account.closed").model.model_validate(
        {"account_id": "ACC-1", "closed_on": "2026-06-30"}
    )
    assert closed.model_dump(mode="json") == {
        "account_id": "ACC-1",
        "closed_on": "2026-06-30",
    }

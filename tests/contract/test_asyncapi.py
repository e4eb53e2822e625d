"""docs/asyncapi.yaml is the AsyncAPI document the catalog generates, and it is complete."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from collections_common.events import CATALOG, build_asyncapi, dlq_topic, parse
from tests.contract.contract_files import schema_errors

REPO_ROOT = Path(__file__).resolve().parents[2]
ASYNCAPI_FILE = REPO_ROOT / "docs" / "asyncapi.yaml"
DLQ_HEADERS = {
    "dlq-reason",
    "dlq-source-topic",
    "dlq-source-partition",
    "dlq-source-offset",
    "dlq-failed-at",
    "dlq-consumer",
}
DLQ_WHEN_CUT = {"dlq-value-truncated", "dlq-key-truncated", "dlq-headers-dropped"}

DOCUMENT = build_asyncapi()


def _resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_docs_asyncapi_yaml_is_up_to_date() -> None:
    committed = yaml.safe_load(ASYNCAPI_FILE.read_text(encoding="utf-8"))
    assert committed == DOCUMENT, (
        "docs/asyncapi.yaml is stale: run `python scripts/generate_asyncapi.py` and commit it"
    )


def test_the_projects_event_schemas_are_up_to_date() -> None:
    """contracts/events/ holds the JSON Schema of every event the project owns, as generated."""
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "generate_asyncapi.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_document_is_deterministic() -> None:
    assert json.dumps(build_asyncapi()) == json.dumps(DOCUMENT)


def test_it_is_asyncapi_3() -> None:
    assert DOCUMENT["asyncapi"] == "3.0.0"
    assert {"title", "version"} <= set(DOCUMENT["info"])


def test_there_is_a_channel_for_every_topic_and_its_dead_letters() -> None:
    addresses = {channel["address"] for channel in DOCUMENT["channels"].values()}
    topics = {spec.topic for spec in CATALOG.values()}
    assert addresses == topics | {dlq_topic(topic) for topic in topics}


def test_there_is_a_message_for_every_type_on_the_channel_of_its_topic() -> None:
    messages = DOCUMENT["components"]["messages"]
    for event_type, spec in CATALOG.items():
        assert messages[event_type]["name"] == event_type
        channel = next(c for c in DOCUMENT["channels"].values() if c["address"] == spec.topic)
        refs = [ref["$ref"] for ref in channel["messages"].values()]
        assert f"#/components/messages/{event_type}" in refs


def test_dead_letter_channels_carry_the_dead_letter_headers() -> None:
    for channel in DOCUMENT["channels"].values():
        if not channel["address"].endswith(".dlq"):
            continue
        (ref,) = channel["messages"].values()
        headers = _resolve(DOCUMENT, ref["$ref"])["headers"]
        assert set(headers["properties"]) == DLQ_HEADERS | DLQ_WHEN_CUT
        assert set(headers["required"]) == DLQ_HEADERS
        assert all(header["description"] for header in headers["properties"].values())


def test_every_reference_resolves() -> None:
    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            own = [node["$ref"]] if "$ref" in node else []
            return own + [ref for value in node.values() for ref in refs(value)]
        if isinstance(node, list):
            return [ref for value in node for ref in refs(value)]
        return []

    found = refs(DOCUMENT)
    assert found
    for ref in found:
        assert _resolve(DOCUMENT, ref) is not None, ref


def test_operations_send_and_receive_on_every_channel() -> None:
    operations = DOCUMENT["operations"].values()
    for channel_id, channel in DOCUMENT["channels"].items():
        ref = f"#/channels/{channel_id}"
        actions = {op["action"] for op in operations if op["channel"]["$ref"] == ref}
        assert "send" in actions, channel["address"]
        if not channel["address"].endswith(".dlq"):
            assert "receive" in actions, channel["address"]
    for operation in operations:
        for message in operation["messages"]:
            assert message["$ref"].startswith(operation["channel"]["$ref"] + "/messages/")


@pytest.mark.parametrize("event_type", sorted(CATALOG))
def test_the_example_of_a_message_is_valid(event_type: str) -> None:
    (example,) = DOCUMENT["components"]["messages"][event_type]["examples"]
    assert schema_errors(example["payload"]) == []
    parse(json.dumps(example["payload"]).encode(), topic=CATALOG[event_type].topic)

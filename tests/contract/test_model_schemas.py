"""The models say what the contract schemas say: same fields, required ones, types and bounds.

The JSON Schema of each model (as published in the AsyncAPI document) is compared with the
contract's, after removing what only documents (titles, descriptions, defaults) and writing
both the same way (`\\d` as `[0-9]`, which it means in JSON Schema's ECMA-262 patterns).
"""

from __future__ import annotations

from typing import Any

import pytest

from collections_common.events import CATALOG, build_asyncapi
from tests.contract.contract_files import contract_schemas

DOCUMENT = build_asyncapi()
_DOCUMENTATION = {
    "title",
    "description",
    "default",
    "$id",
    "$schema",
    "x-topic",
    "examples",
}


def _normalise(schema: Any, components: dict[str, Any]) -> Any:
    if isinstance(schema, list):
        return [_normalise(item, components) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        return _normalise(components[schema["$ref"].rsplit("/", 1)[1]], components)
    kept = {key: value for key, value in schema.items() if key not in _DOCUMENTATION}
    out = {key: _normalise(value, components) for key, value in kept.items()}
    if out.get("additionalProperties") is True:
        del out["additionalProperties"]  # the default: unknown fields are allowed
    if out.get("required") == []:
        del out["required"]
    if "const" in out:
        out.pop("type", None)
    if "pattern" in out:
        out["pattern"] = out["pattern"].replace("\\d", "[0-9]")
    branches = out.get("anyOf")
    if branches and all(set(branch) == {"type"} for branch in branches):
        out["type"] = [branch["type"] for branch in out.pop("anyOf")]
    if isinstance(out.get("type"), list):
        out["type"] = sorted(out["type"])
    return out


@pytest.mark.parametrize("event_type", sorted(CATALOG))
def test_the_model_schema_of_data_equals_the_contract(event_type: str) -> None:
    components = DOCUMENT["components"]["schemas"]
    payload = DOCUMENT["components"]["messages"][event_type]["payload"]
    contract = contract_schemas()[event_type]
    assert _normalise(payload["properties"]["data"], components) == _normalise(
        contract["properties"]["data"], contract.get("$defs", {})
    )


@pytest.mark.parametrize("event_type", sorted(CATALOG))
def test_the_envelope_schema_equals_the_contract(event_type: str) -> None:
    components = DOCUMENT["components"]["schemas"]
    payload = DOCUMENT["components"]["messages"][event_type]["payload"]
    contract = contract_schemas()[event_type]
    ours = _normalise({**payload, "properties": {**payload["properties"], "data": {}}}, components)
    envelope = {key: value for key, value in contract.items() if key != "$defs"}
    theirs = _normalise({**envelope, "properties": {**contract["properties"], "data": {}}}, {})
    assert ours == theirs

"""Build the AsyncAPI 3.0.0 document of the event contract from the catalog and the models.

`scripts/generate_asyncapi.py` writes it to `docs/asyncapi.yaml`; a contract test fails when
that file is stale. The output is deterministic: channels, messages, operations and schemas are
in sorted order, and the examples have fixed ids and times.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Final

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from ._examples import example_events
from .catalog import CATALOG, DLQ_HEADERS, DLQ_OPTIONAL_HEADERS, EventSpec, Topics, dlq_topic
from .envelope import CloudEvent, encode

__all__ = ["build_asyncapi", "event_json_schema"]

ASYNCAPI_VERSION: Final = "3.0.0"
CONTRACT_VERSION: Final = "1.0.0"
CONTENT_TYPE: Final = "application/cloudevents+json"
KAFKA_BINDING_VERSION: Final = "0.4.0"  # accepted by every revision of the 3.0.0 schema
_SCHEMAS_REF: Final = "#/components/schemas/{model}"
_DEAD_LETTER: Final = "dead-letter"

_TOPIC_DESCRIPTIONS: Final[dict[str, str]] = {
    Topics.ACCOUNTS: "Accounts as core banking opens, changes and closes them.",
    Topics.BILLING: "Statements and reages (restructurings) from core banking.",
    Topics.PAYMENTS: "Payments posted to accounts and their reversals.",
    Topics.CALENDAR: "The close of each business day; every event of that day came before.",
    Topics.DELINQUENCY: "Every change of an account's delinquency stage.",
}
_CONSUMERS: Final[dict[str, str]] = {
    Topics.DELINQUENCY: "The collections platform (escalation, contact) receives stage changes.",
}


class _ContractJsonSchema(GenerateJsonSchema):
    """JSON Schema as the contract writes it: no field titles, optional means absent."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        if "default" not in schema or schema["default"] is not None:
            return super().default_schema(schema)
        # An optional field defaults to None but may not be null on the wire: drop the null.
        inner = self.generate_inner(schema["schema"])
        branches = inner.get("anyOf", [])
        if {"type": "null"} in branches:
            rest = [branch for branch in branches if branch != {"type": "null"}]
            without = {key: value for key, value in inner.items() if key != "anyOf"}
            inner = {**rest[0], **without} if len(rest) == 1 else {**without, "anyOf": rest}
        return inner


def _ident(name: str) -> str:
    """An AsyncAPI identifier (`^[A-Za-z0-9_-]+$`) for a topic or type name."""
    return name.replace(".", "-")


def _ref(*parts: str) -> dict[str, str]:
    return {"$ref": "#/" + "/".join(parts)}


def _specs() -> list[EventSpec]:
    return sorted(CATALOG.values(), key=lambda spec: spec.type)


def _topics() -> list[str]:
    return sorted({spec.topic for spec in CATALOG.values()})


def _data_schemas() -> tuple[dict[str, str], dict[str, JsonSchemaValue]]:
    """The `$ref` of each type's `data` schema, and every model schema for `components.schemas`."""
    models = sorted({spec.model for spec in CATALOG.values()}, key=lambda model: model.__name__)
    refs, top = models_json_schema(
        [(model, "validation") for model in models],
        ref_template=_SCHEMAS_REF,
        schema_generator=_ContractJsonSchema,
    )
    data_refs = {spec.type: refs[(spec.model, "validation")]["$ref"] for spec in CATALOG.values()}
    return data_refs, dict(sorted(top["$defs"].items()))


def _envelope_schema() -> JsonSchemaValue:
    schema = CloudEvent.model_json_schema(
        schema_generator=_ContractJsonSchema,
        ref_template=_SCHEMAS_REF,
    )
    schema.pop("title", None)
    schema.pop("description", None)
    return schema


def _kafka_key(topic: str) -> JsonSchemaValue:
    if topic == Topics.CALENDAR:
        return {"type": "string", "const": "calendar", "description": "always `calendar`"}
    return {"type": "string", "description": "the `account_id` of `data`"}


def _message(
    spec: EventSpec, data_ref: str, envelope: JsonSchemaValue, example: CloudEvent
) -> dict[str, Any]:
    payload = copy.deepcopy(envelope)
    payload["description"] = f"A CloudEvents 1.0 event of type `{spec.type}`."
    payload["properties"]["type"] = {"type": "string", "const": spec.type}
    payload["properties"]["data"] = {"$ref": data_ref}
    return {
        "name": spec.type,
        "title": spec.type,
        "summary": (spec.model.__doc__ or "").strip().splitlines()[0],
        "contentType": CONTENT_TYPE,
        "payload": payload,
        "bindings": {
            "kafka": {"key": _kafka_key(spec.topic), "bindingVersion": KAFKA_BINDING_VERSION},
        },
        "examples": [{"name": "example", "payload": json.loads(encode(example))}],
    }


def _dead_letter_message() -> dict[str, Any]:
    return {
        "name": _DEAD_LETTER,
        "title": "Dead letter",
        "summary": "A record that could not be processed, kept for replay after a fix.",
        "description": "The key and value as consumed (the value may not even be JSON; one too"
        " large to keep is cut, with its size and digest in a header), with headers saying where"
        " it came from and why it was refused. Bad input is never dropped and never stops a"
        " consumer.",
        "contentType": "application/octet-stream",
        "headers": {
            "type": "object",
            "properties": {
                name: {"type": "string", "description": text} for name, text in DLQ_HEADERS.items()
            },
            "required": [name for name in DLQ_HEADERS if name not in DLQ_OPTIONAL_HEADERS],
        },
        "payload": {
            "description": "The original record value, byte for byte (its first part when"
            " `dlq-value-truncated` is present)."
        },
    }


def _channels(specs: list[EventSpec]) -> dict[str, Any]:
    channels: dict[str, Any] = {}
    for topic in _topics():
        channels[_ident(topic)] = {
            "address": topic,
            "description": _TOPIC_DESCRIPTIONS.get(topic, topic),
            "messages": {
                _ident(spec.type): _ref("components", "messages", spec.type)
                for spec in specs
                if spec.topic == topic
            },
            "bindings": {"kafka": {"topic": topic, "bindingVersion": KAFKA_BINDING_VERSION}},
        }
        dlq = dlq_topic(topic)
        channels[_ident(dlq)] = {
            "address": dlq,
            "description": f"Dead letters of `{topic}`.",
            "messages": {_DEAD_LETTER: _ref("components", "messages", _DEAD_LETTER)},
            "bindings": {"kafka": {"topic": dlq, "bindingVersion": KAFKA_BINDING_VERSION}},
        }
    return channels


def _operation(action: str, channel: str, messages: list[str], summary: str) -> dict[str, Any]:
    return {
        "action": action,
        "channel": _ref("channels", channel),
        "summary": summary,
        "messages": [_ref("channels", channel, "messages", message) for message in messages],
    }


def _operations(specs: list[EventSpec]) -> dict[str, Any]:
    operations: dict[str, Any] = {}
    for topic in _topics():
        channel = _ident(topic)
        messages = [_ident(spec.type) for spec in specs if spec.topic == topic]
        inbound = topic.startswith("corebank.")
        producer = "core-banking" if inbound else "collections"
        operations[f"{producer}-sends-{channel}"] = _operation(
            "send",
            channel,
            messages,
            "Core banking publishes these events."
            if inbound
            else "The collections platform (aging service) publishes these events.",
        )
        operations[f"collections-receives-{channel}"] = _operation(
            "receive",
            channel,
            messages,
            _CONSUMERS.get(topic, "The collections platform consumes these events."),
        )
        operations[f"collections-sends-{_ident(dlq_topic(topic))}"] = _operation(
            "send",
            _ident(dlq_topic(topic)),
            [_DEAD_LETTER],
            f"A consumer of `{topic}` sends each record it cannot process here.",
        )
    return dict(sorted(operations.items()))


def build_asyncapi() -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of every topic and event type in the catalog."""
    specs = _specs()
    data_refs, schemas = _data_schemas()
    envelope = _envelope_schema()
    examples = {event.type: event for event in example_events()}
    messages = {}
    for spec in specs:
        messages[spec.type] = _message(spec, data_refs[spec.type], envelope, examples[spec.type])
    messages[_DEAD_LETTER] = _dead_letter_message()
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Collections platform events",
            "version": CONTRACT_VERSION,
            "description": (
                "Events between core banking and the collections platform (DOMAIN.md "
                "sections 3, 4 and 8). Every message is a CloudEvents 1.0 event in structured "
                "JSON mode; its identity is (`source`, `id`). The Kafka key is the account id "
                "(the calendar uses `calendar`). Money is an integer count of minor units "
                "with an ISO 4217 currency; dates are `YYYY-MM-DD`; times are RFC 3339. "
                "Unknown extra fields are ignored. A record that cannot be processed goes to "
                "the topic's `.dlq` with the reason in headers. Generated from "
                "`collections_common.events` by `scripts/generate_asyncapi.py`: do not edit."
            ),
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "kafka": {
                "host": "localhost:9092",
                "protocol": "kafka",
                "description": "The default local broker; the address is configuration.",
            }
        },
        "channels": _channels(specs),
        "operations": _operations(specs),
        "components": {
            "messages": dict(sorted(messages.items())),
            "schemas": schemas,
        },
    }


def event_json_schema(event_type: str, document: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON Schema (2020-12) of one event type, standalone: the AsyncAPI message payload with
    the model schemas it refers to under ``$defs``. The project publishes these for the events it
    owns (``contracts/events/``), as core banking's are published in the shared contracts."""
    document = document or build_asyncapi()
    components = document["components"]["schemas"]
    payload = copy.deepcopy(document["components"]["messages"][event_type]["payload"])
    defs: dict[str, Any] = {}

    def inline(node: Any) -> Any:
        if isinstance(node, list):
            return [inline(item) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name not in defs:
                defs[name] = {}
                defs[name] = inline(copy.deepcopy(components[name]))
            return {**{k: v for k, v in node.items() if k != "$ref"}, "$ref": f"#/$defs/{name}"}
        return {key: inline(value) for key, value in node.items()}

    body = inline(payload)
    spec = CATALOG[event_type]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{event_type}.schema.json",
        "title": event_type,
        "description": f"CloudEvents 1.0 structured JSON event of type {event_type} on topic {spec.topic};"
        " see DOMAIN.md.",
        "x-topic": spec.topic,
        **{key: value for key, value in body.items() if key != "description"},
        "$defs": dict(sorted(defs.items())),
    }

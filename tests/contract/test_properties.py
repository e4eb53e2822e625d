"""Properties over random events.

- Any instance of a model encodes to schema-valid JSON and parses back unchanged.
- Any bytes either parse or raise `InvalidEvent`: nothing else escapes to stop a consumer.
- Valid events with one part changed: `parse` accepts them exactly when the schema does. The
  changes avoid the documented cases where the models are stricter than Python's jsonschema
  (see `TestStricterThanPythonJsonschema`): integral floats, `@` in random strings, control
  characters and non-ASCII digits.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, get_args

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collections_common.events import (
    CATALOG,
    AccountClosed,
    AccountOpened,
    AccountReaged,
    AccountUpdated,
    Address,
    BusinessDayClosed,
    Consents,
    EventData,
    Flags,
    Holder,
    InvalidEvent,
    PaymentPosted,
    PaymentReversed,
    Risk,
    StageChanged,
    StatementIssued,
    encode,
    new_event,
    parse,
    spec_of,
)
from collections_common.events._examples import example_events
from collections_common.events.delinquency import StageChangeCause
from tests.contract.contract_files import schema_errors
from tests.golden import load_golden_cases

text = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=20)
"""Any text but NUL, which no event's text may hold (a rule of the envelope beside the schemas,
``test_invalid_events.py::TestWhatNoDatabaseCanHold``): a model holding it encodes, and decoding
refuses it."""
identifier = st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=64)
currency = st.from_regex(r"[A-Z]{3}", fullmatch=True)
dates = st.dates()
amount = st.integers(min_value=0, max_value=10**15)
positive_amount = st.integers(min_value=1, max_value=10**15)
phone = st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True)
email = st.builds(
    "{}@{}".format,
    st.from_regex(r"[A-Za-z0-9._%+-]{1,20}", fullmatch=True),
    st.from_regex(r"[a-z0-9-]{1,20}\.[a-z]{2,6}", fullmatch=True),
)


def model(cls: type[EventData], required: dict[str, Any], optional: dict[str, Any]) -> Any:
    """Instances of `cls` with every required field and any subset of the optional ones."""
    fields = st.fixed_dictionaries(required, optional=optional)
    return st.builds(lambda values: cls(**values), fields)


addresses = model(
    Address,
    {},
    {
        "line1": text,
        "city": text,
        "region": text,
        "postal_code": text,
        "country": st.from_regex(r"[A-Z]{2}", fullmatch=True),
    },
)
holders = model(
    Holder,
    {},
    {
        "name": st.text(
            st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), min_size=1, max_size=20
        ),
        "national_id": text,
        "phones": st.lists(phone, max_size=3),
        "email": email,
        "address": addresses,
        "timezone": st.sampled_from(["Asia/Shanghai", "UTC", "America/New_York"]),
        "language": st.sampled_from(["zh-CN", "en", ""]),
    },
)
consents = model(Consents, {}, {name: st.booleans() for name in Consents.model_fields})
flags = model(Flags, {}, {name: st.booleans() for name in Flags.model_fields})
SIGNALS = ["multiple_lenders", "asset_transfer", "lost_contact"]
risks = model(
    Risk,
    {},
    {
        "rating": st.sampled_from("ABCDE"),
        "signals": st.lists(st.sampled_from(SIGNALS)),
    },
)


def _examples_by_type() -> dict[str, Any]:
    return {event.type: parse(encode(event)) for event in example_events()}


MODELS: dict[type[EventData], Any] = {
    AccountOpened: model(
        AccountOpened,
        {
            "account_id": identifier,
            "customer_id": identifier,
            "currency": currency,
            "credit_limit_minor": amount,
            "opened_on": dates,
            "holder": holders,
            "consents": consents,
        },
        {},
    ),
    AccountUpdated: model(
        AccountUpdated,
        {"account_id": identifier},
        {"holder": holders, "consents": consents, "flags": flags, "risk": risks},
    ),
    AccountClosed: model(
        AccountClosed,
        {"account_id": identifier, "closed_on": dates},
        {"reason": text},
    ),
    StatementIssued: model(
        StatementIssued,
        {
            "account_id": identifier,
            "statement_id": identifier,
            "statement_date": dates,
            "due_date": dates,
            "statement_balance_minor": amount,
            "minimum_due_minor": amount,
            "currency": currency,
        },
        {},
    ),
    AccountReaged: model(
        AccountReaged,
        {"account_id": identifier, "reage_id": identifier, "effective_date": dates},
        {"reason": text},
    ),
    PaymentPosted: model(
        PaymentPosted,
        {
            "account_id": identifier,
            "payment_id": identifier,
            "amount_minor": positive_amount,
            "currency": currency,
            "value_date": dates,
        },
        {"channel": text},
    ),
    PaymentReversed: model(
        PaymentReversed,
        {"account_id": identifier, "payment_id": identifier},
        {"reason": text},
    ),
    BusinessDayClosed: model(BusinessDayClosed, {"business_date": dates}, {}),
    StageChanged: model(
        StageChanged,
        {
            "account_id": identifier,
            "customer_id": st.none() | identifier,
            "from_stage": st.sampled_from(["CURRENT", "M1", "M2", "M3", "M3+"]),
            "to_stage": st.sampled_from(["CURRENT", "M1", "M2", "M3", "M3+", "CHARGE_OFF"]),
            "dpd": st.integers(min_value=0, max_value=10_000),
            "past_due_minor": amount,
            "oldest_unpaid_due_date": st.none() | dates,
            "as_of": dates,
            "cause": st.sampled_from(get_args(StageChangeCause)),
            "cause_event_id": text,
            "currency": currency,
        },
        {},
    ),
}

OWN_EVENTS: dict[type[EventData], Any] = {
    type(example.data): st.just(example.data)
    for example in _examples_by_type().values()
    if type(example.data) not in MODELS
}
"""The events this project publishes (contact, escalation, agency) are built by the services from
validated state, not taken from outside: their examples stand for them here."""

any_data = st.one_of(*MODELS.values(), *OWN_EVENTS.values())
times = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=8)), timezone(-timedelta(hours=5, minutes=30))],
    ),
)


def test_every_type_of_the_catalog_has_a_strategy() -> None:
    assert {spec.model for spec in CATALOG.values()} == set(MODELS) | set(OWN_EVENTS)
    assert all(spec_of(model).topic.startswith("collections.") for model in OWN_EVENTS)


@given(
    data=any_data,
    source=st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=30),
    subject=st.none() | identifier,
    event_id=st.none() | st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=40),
    time=st.none() | times,
)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_model_encodes_to_schema_valid_json_and_round_trips(
    data: EventData, source: str, subject: str | None, event_id: str | None, time: Any
) -> None:
    spec = spec_of(type(data))
    event = new_event(spec.type, source, subject, data, id=event_id, time=time)
    raw = encode(event)
    assert schema_errors(json.loads(raw)) == []
    parsed = parse(raw, topic=spec.topic)
    assert parsed.data == data
    assert parsed.envelope == event


@given(st.binary(max_size=200))
def test_any_bytes_parse_or_raise_invalid_event(raw: bytes) -> None:
    try:
        parse(raw)
    except InvalidEvent as exc:
        assert exc.reason and "\n" not in exc.reason


VALID_EVENTS: list[dict[str, Any]] = [json.loads(encode(event)) for event in example_events()] + [
    item["event"] for case in load_golden_cases()[:3] for item in case["events"]
]

_STRINGS = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters="@"),
    max_size=8,
) | st.sampled_from(
    [
        "",
        "1.0",
        "CNY",
        "cny",
        "CN",
        "A",
        "F",
        "+8613800000000",
        "13800000000",
        "li@example.com",
        "2026-01-25",
        "2026-13-01",
        "2026-01-25T16:00:00",
        "2026-01-25T16:00:00Z",
        "2026-01-25T16:00:00+08:00",
        "application/json",
        "day_close",
        "x" * 65,
    ]
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-3, max_value=3)
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: not x.is_integer())
    | _STRINGS
)
JSON_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_STRINGS, inner, max_size=3),
    max_leaves=5,
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document that holds a value."""
    found = [path] if path else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*path, index))
    return found


@given(st.data())
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_parse_accepts_a_changed_event_exactly_when_the_schema_does(
    draw: st.DataObject,
) -> None:
    event = json.loads(json.dumps(draw.draw(st.sampled_from(VALID_EVENTS))))
    event_type = event["type"]
    path = draw.draw(st.sampled_from(_paths(event)))
    *parents, last = path
    node = event
    for part in parents:
        node = node[part]
    action = draw.draw(st.sampled_from(["replace", "delete", "add"]))
    if action == "replace":
        node[last] = draw.draw(JSON_VALUES)
    elif action == "delete" and isinstance(node, dict):
        del node[last]
    elif isinstance(node, dict):
        node[draw.draw(_STRINGS)] = draw.draw(JSON_VALUES)
    schema_ok = not schema_errors(event, event_type)
    try:
        parse(json.dumps(event).encode())
        parse_ok, reason = True, ""
    except InvalidEvent as exc:
        parse_ok, reason = False, exc.reason
    assert parse_ok == schema_ok, (reason, schema_errors(event, event_type), event)

"""Bad input raises `InvalidEvent` with a one-line reason naming the problem; the schemas agree.

Also: unknown extra fields are ignored, at the top level and in `data`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from collections_common.events import InvalidEvent, Topics, parse
from tests.contract.contract_files import contract_schemas, schema_errors

PAYMENT: dict[str, Any] = {
    "specversion": "1.0",
    "id": "evt-1",
    "source": "corebank",
    "type": "corebank.payment.posted",
    "time": "2026-01-25T16:00:00Z",
    "subject": "ACC-1",
    "datacontenttype": "application/json",
    "data": {
        "account_id": "ACC-1",
        "payment_id": "P-1",
        "amount_minor": 10000,
        "currency": "CNY",
        "value_date": "2026-01-25",
        "channel": "bank_transfer",
    },
}
OPENED: dict[str, Any] = {
    **PAYMENT,
    "type": "corebank.account.opened",
    "data": {
        "account_id": "ACC-1",
        "customer_id": "CUS-1",
        "currency": "CNY",
        "credit_limit_minor": 5000000,
        "opened_on": "2025-12-01",
        "holder": {
            "name": "Li Lei",
            "phones": ["+8613800000000"],
            "address": {"country": "CN"},
        },
        "consents": {"sms": True},
    },
}


def _raw(event: Any) -> bytes:
    return json.dumps(event).encode()


def _reason(raw: bytes, topic: str | None = None) -> str:
    with pytest.raises(InvalidEvent) as caught:
        parse(raw, topic=topic)
    reason = caught.value.reason
    assert reason == str(caught.value)
    assert "\n" not in reason and len(reason) <= 400, "a reason is one short line"
    return reason


def _change(base: dict[str, Any], edit: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    event = copy.deepcopy(base)
    edit(event)
    return event


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    *parents, last = path.split(".")

    def edit(event: dict[str, Any]) -> None:
        node = event
        for name in parents:
            node = node[name]
        node[last] = value

    return edit


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    *parents, last = path.split(".")

    def edit(event: dict[str, Any]) -> None:
        node = event
        for name in parents:
            node = node[name]
        del node[last]

    return edit


def test_the_valid_bases_are_valid() -> None:
    for event in (PAYMENT, OPENED):
        assert schema_errors(event) == []
        parse(_raw(event))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(b"{not json", "not JSON", id="not-json"),
        pytest.param(b"", "not JSON", id="empty"),
        pytest.param(b'{"a": 1}\xff', "not UTF-8", id="not-utf8"),
        pytest.param(b'{"amount": NaN}', "NaN", id="nan"),
        pytest.param(b'{"id": "a", "id": "b"}', "duplicate name 'id'", id="duplicate-name"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, "not JSON", id="too-deep"),
        pytest.param(b"[1, 2]", "expected a JSON object, got array", id="array"),
        pytest.param(b'"event"', "expected a JSON object, got string", id="string"),
    ],
)
def test_bytes_that_are_not_a_json_object(raw: bytes, expected: str) -> None:
    assert expected in _reason(raw)


ENVELOPE_CASES = [
    pytest.param(_delete("specversion"), "not a CloudEvent: missing 'specversion'", id="no-spec"),
    pytest.param(_set("specversion", "0.3"), "specversion should be '1.0'", id="spec-0.3"),
    pytest.param(_set("specversion", 1.0), "specversion should be '1.0'", id="spec-number"),
    pytest.param(_delete("id"), "missing 'id'", id="no-id"),
    pytest.param(_set("id", ""), "id: String should have at least 1 character", id="empty-id"),
    pytest.param(_delete("source"), "missing 'source'", id="no-source"),
    pytest.param(_set("source", 7), "source: Input should be a valid string", id="int-source"),
    pytest.param(_delete("type"), "missing 'type'", id="no-type"),
    pytest.param(_delete("data"), "missing 'data'", id="no-data"),
    pytest.param(_set("data", [1]), "data: Input should be a valid dictionary", id="data-list"),
    pytest.param(
        _set("time", "2026-01-25T16:00:00"),
        "time: Input should have a timezone",
        id="naive-time",
    ),
    pytest.param(_set("time", "2026-01-25"), "time: Input should be an RFC 3339", id="date-time"),
    pytest.param(
        _set("time", "2026-01-25T25:00:00Z"),
        "time: Input should be a valid date-time",
        id="hour-25",
    ),
    pytest.param(_set("time", 1769356800), "time: Input should be an RFC 3339", id="epoch-time"),
    pytest.param(_set("subject", None), "subject: Input should not be null", id="null-subject"),
    pytest.param(
        _set("datacontenttype", "text/plain"),
        "datacontenttype: Input should be",
        id="content-type",
    ),
]


@pytest.mark.parametrize(("edit", "expected"), ENVELOPE_CASES)
def test_a_bad_envelope(edit: Callable[[dict[str, Any]], None], expected: str) -> None:
    event = _change(PAYMENT, edit)
    assert expected in _reason(_raw(event))
    assert schema_errors(event, "corebank.payment.posted"), "the schema refuses it too"


def test_an_unknown_type() -> None:
    event = _change(PAYMENT, _set("type", "corebank.card.stolen"))
    assert _reason(_raw(event)) == "unknown type 'corebank.card.stolen'"
    assert all(schema_errors(event, event_type) for event_type in contract_schemas())


def test_a_type_on_the_wrong_topic() -> None:
    reason = _reason(_raw(PAYMENT), topic=Topics.BILLING)
    assert reason == (
        "type 'corebank.payment.posted' does not belong on topic 'corebank.billing.v1'"
        " (it goes on 'corebank.payments.v1')"
    )
    assert contract_schemas()["corebank.payment.posted"]["x-topic"] != Topics.BILLING
    parse(_raw(PAYMENT), topic=Topics.PAYMENTS)


DATA_CASES = [
    pytest.param(
        PAYMENT,
        "data.amount_minor",
        "100",
        "data.amount_minor: Input should be a valid integer (got string)",
        id="str-amount",
    ),
    pytest.param(
        PAYMENT,
        "data.amount_minor",
        100.5,
        "data.amount_minor: Input should be a valid integer (got number)",
        id="float",
    ),
    pytest.param(
        PAYMENT,
        "data.amount_minor",
        True,
        "data.amount_minor: Input should be a valid integer (got boolean)",
        id="bool",
    ),
    pytest.param(
        PAYMENT,
        "data.amount_minor",
        -100,
        "data.amount_minor: Input should be greater than or equal to 1",
        id="negative",
    ),
    pytest.param(
        PAYMENT,
        "data.amount_minor",
        0,
        "data.amount_minor: Input should be greater than or equal to 1",
        id="zero",
    ),
    pytest.param(
        OPENED,
        "data.credit_limit_minor",
        -1,
        "data.credit_limit_minor: Input should be greater than or equal to 0",
        id="negative-limit",
    ),
    pytest.param(
        PAYMENT,
        "data.value_date",
        "2026-13-01",
        "data.value_date: Input should be a valid calendar date: month must be in 1..12",
        id="month-13",
    ),
    pytest.param(
        PAYMENT,
        "data.value_date",
        "2026-02-30",
        "data.value_date: Input should be a valid calendar date",
        id="feb-30",
    ),
    pytest.param(
        PAYMENT,
        "data.value_date",
        "2026-01-25T00:00:00",
        "data.value_date: Input should be a date in YYYY-MM-DD format",
        id="date-time",
    ),
    pytest.param(
        PAYMENT,
        "data.value_date",
        "20260125",
        "data.value_date: Input should be a date in YYYY-MM-DD format",
        id="basic-date",
    ),
    pytest.param(
        PAYMENT,
        "data.value_date",
        20260125,
        "data.value_date: Input should be a valid date (got integer)",
        id="int-date",
    ),
    pytest.param(
        PAYMENT,
        "data.currency",
        "cny",
        "data.currency: String should match pattern '^[A-Z]{3}$'",
        id="currency-cny",
    ),
    pytest.param(
        PAYMENT,
        "data.currency",
        "CNYY",
        "data.currency: String should match pattern",
        id="currency-4",
    ),
    pytest.param(
        PAYMENT,
        "data.account_id",
        "",
        "data.account_id: String should have at least 1 character",
        id="empty-account",
    ),
    pytest.param(
        PAYMENT,
        "data.account_id",
        "A" * 65,
        "data.account_id: String should have at most 64 characters",
        id="long-account",
    ),
    pytest.param(
        PAYMENT,
        "data.payment_id",
        42,
        "data.payment_id: Input should be a valid string (got integer)",
        id="int-id",
    ),
    pytest.param(
        PAYMENT,
        "data.channel",
        None,
        "data.channel: Input should not be null",
        id="null-optional",
    ),
    pytest.param(
        OPENED,
        "data.holder.phones",
        ["13800000000"],
        "data.holder.phones[0]: String should match pattern",
        id="phone-not-e164",
    ),
    pytest.param(
        OPENED,
        "data.holder.phones",
        "+8613800000000",
        "data.holder.phones: Input should be a valid list (got string)",
        id="phone-str",
    ),
    pytest.param(
        OPENED,
        "data.holder.address.country",
        "China",
        "data.holder.address.country: String should match pattern",
        id="country",
    ),
    pytest.param(
        OPENED,
        "data.holder.name",
        "",
        "data.holder.name: String should have at least 1 character",
        id="empty-name",
    ),
    pytest.param(
        OPENED,
        "data.holder",
        "Li Lei",
        "data.holder: Input should be a valid dictionary or instance of Holder",
        id="holder-str",
    ),
    pytest.param(
        OPENED,
        "data.consents.sms",
        "yes",
        "data.consents.sms: Input should be a valid boolean (got string)",
        id="consent",
    ),
    pytest.param(
        OPENED,
        "data.consents.sms",
        1,
        "data.consents.sms: Input should be a valid boolean (got integer)",
        id="int-bool",
    ),
]


@pytest.mark.parametrize(("base", "path", "value", "expected"), DATA_CASES)
def test_bad_data(base: dict[str, Any], path: str, value: Any, expected: str) -> None:
    event = _change(base, _set(path, value))
    assert expected in _reason(_raw(event))
    assert schema_errors(event), "the schema refuses it too"


@pytest.mark.parametrize(
    ("event_type", "data", "expected"),
    [
        (
            "corebank.account.updated",
            {"account_id": "A", "risk": {"rating": "F"}},
            "data.risk.rating: Input should be 'A', 'B', 'C', 'D' or 'E'",
        ),
        (
            "corebank.account.updated",
            {"account_id": "A", "holder": {"email": "li.example.com"}},
            "data.holder.email: Input should be an e-mail address: local@domain",
        ),
        (
            "corebank.account.updated",
            {"account_id": "A", "flags": {"dispute": "true"}},
            "data.flags.dispute: Input should be a valid boolean (got string)",
        ),
        (
            "corebank.statement.issued",
            {"account_id": "A", "statement_id": "S"},
            "missing 'data.statement_date'",
        ),
        ("corebank.business-day.closed", {}, "missing 'data.business_date'"),
        (
            "collections.stage.changed",
            {"account_id": "A"},
            "missing 'data.customer_id'",
        ),
    ],
)
def test_bad_data_of_other_types(event_type: str, data: dict[str, Any], expected: str) -> None:
    event = {**PAYMENT, "type": event_type, "data": data}
    assert expected in _reason(_raw(event))
    assert schema_errors(event)


def test_a_reason_lists_a_few_errors_and_counts_the_rest() -> None:
    reason = _reason(_raw({**PAYMENT, "data": {}}))
    missing = ("account_id", "payment_id", "amount_minor")
    assert reason == "; ".join(f"missing 'data.{name}'" for name in missing) + "; (+2 more)"


def test_a_stage_change_needs_a_known_cause() -> None:
    stage = {
        "account_id": "ACC-1",
        "customer_id": None,
        "from_stage": "CURRENT",
        "to_stage": "M1",
        "dpd": 1,
        "past_due_minor": 10000,
        "oldest_unpaid_due_date": "2026-01-25",
        "as_of": "2026-01-26",
        "cause": "day_close",
        "cause_event_id": "evt-1",
        "currency": "CNY",
    }
    event = {
        **PAYMENT,
        "source": "aging",
        "type": "collections.stage.changed",
        "data": stage,
    }
    assert schema_errors(event) == []
    parse(_raw(event), topic=Topics.DELINQUENCY)
    bad = {**event, "data": {**stage, "cause": "manual"}}
    assert "data.cause: Input should be 'day_close', 'payment'" in _reason(_raw(bad))
    assert schema_errors(bad)


class TestUnknownExtraFieldsAreIgnored:
    def test_at_the_top_level_and_in_data(self) -> None:
        event = copy.deepcopy(OPENED)
        event["traceparent"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        event["data"]["branch"] = {"code": 12}
        event["data"]["holder"]["nickname"] = "Xiao Li"
        event["data"]["holder"]["address"]["line2"] = "Room 2"
        event["data"]["consents"]["fax"] = True
        assert schema_errors(event) == []
        parsed, plain = parse(_raw(event)), parse(_raw(OPENED))
        assert parsed.data == plain.data
        without_data = {"data"}
        assert parsed.envelope.model_dump(exclude=without_data) == plain.envelope.model_dump(
            exclude=without_data
        )

    def test_and_left_out_when_encoding_again(self) -> None:
        event = _change(PAYMENT, _set("data.branch", "X"))
        assert "branch" not in parse(_raw(event)).data.model_dump()


class TestStricterThanPythonJsonschema:
    """Where Python's `jsonschema` is laxer than the schemas mean, the models follow the meaning.

    JSON Schema patterns are ECMA-262: `$` is the end of the string and `\\d` an ASCII digit;
    Python's `re` lets `$` match before a final newline and `\\d` match any script's digits.
    """

    def test_a_trailing_newline_is_not_a_currency(self) -> None:
        assert "data.currency" in _reason(_raw(_change(PAYMENT, _set("data.currency", "CNY\n"))))

    def test_a_date_in_arabic_indic_digits_is_not_a_date(self) -> None:
        date = "\u0662\u0660\u0662\u0666-01-25"
        assert "data.value_date" in _reason(_raw(_change(PAYMENT, _set("data.value_date", date))))

    def test_an_integral_float_is_not_an_integer(self) -> None:
        """JSON Schema counts 100.0 as an integer; an amount in minor units must be written 100."""
        event = _change(PAYMENT, _set("data.amount_minor", 100.0))
        assert schema_errors(event) == []
        expected = "data.amount_minor: Input should be a valid integer (got number)"
        assert expected in _reason(_raw(event))


class TestWhatNoDatabaseCanHold:
    """Two rules beyond the letter of the schemas, each dead-lettered with the field named: no
    text holds NUL (PostgreSQL's text cannot), and an e-mail address keeps RFC 5321's form."""

    @pytest.mark.parametrize(
        ("path", "value", "where"),
        [
            ("data.holder.email", "li\x00@example.com", "data.holder.email"),
            ("data.holder.name", "Li\x00Lei", "data.holder.name"),
            ("data.holder.address.line1", "1 Road\x00", "data.holder.address.line1"),
            ("data.holder.phones", ["+8613800000000", "\x00"], "data.holder.phones[1]"),
            ("data.holder.language", "zh\x00", "data.holder.language"),
            ("data.holder.extra", {"\x00secret": 1}, "data.holder.extra.(a name)"),
            ("id", "evt\x00", "id"),
        ],
    )
    def test_text_holding_nul_is_refused_with_its_place(self, path: str, value: Any, where: str) -> None:
        reason = _reason(_raw(_change(OPENED, _set(path, value))))
        assert reason == f"{where}: text should not contain a NUL character (stored text cannot hold one)"
        assert "secret" not in reason

    def test_the_six_characters_of_the_escape_as_text_are_not_a_nul(self) -> None:
        event = _change(OPENED, _set("data.holder.name", "back\\u0000slash"))
        assert parse(_raw(event)).data.holder.name == "back\\u0000slash"  # type: ignore[union-attr]

    @pytest.mark.parametrize(
        "email",
        [
            "a b@example.com",
            "li\t@example.com",
            "li\x7f@example.com",
            "x" * 65 + "@example.com",
            "li@" + "b" * 251 + ".c",
        ],
        ids=["space", "tab", "delete", "local-part-65", "address-255"],
    )
    def test_an_email_address_outside_rfc_5321_is_refused(self, email: str) -> None:
        reason = _reason(_raw(_change(OPENED, _set("data.holder.email", email))))
        assert reason.startswith("data.holder.email: Input should be an e-mail address: local@domain")

    @pytest.mark.parametrize(
        "email", ["x" * 64 + "@example.com", "li@" + "b" * 248 + ".c"], ids=["local-part-64", "address-254"]
    )
    def test_an_email_address_at_rfc_5321_bounds_is_accepted(self, email: str) -> None:
        assert parse(_raw(_change(OPENED, _set("data.holder.email", email)))).data.holder.email == email  # type: ignore[union-attr]

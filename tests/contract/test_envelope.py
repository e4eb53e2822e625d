"""The CloudEvents envelope: what `new_event` fills in and what `encode` writes."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import yaml
from pydantic import ValidationError

from collections_common.events import (
    CATALOG,
    BusinessDayClosed,
    CloudEvent,
    EventTypes,
    Topics,
    decode,
    dlq_topic,
    encode,
    new_event,
)
from tests.golden import REPO_ROOT

CLOSE = BusinessDayClosed(business_date=date(2026, 1, 25))


def test_new_event_fills_in_a_uuid4_id_the_time_now_and_the_content_type() -> None:
    before = datetime.now(UTC)
    event = new_event(EventTypes.BUSINESS_DAY_CLOSED, "corebank", "calendar", CLOSE)
    assert uuid.UUID(event.id).version == 4
    assert event.time is not None and before <= event.time <= datetime.now(UTC)
    assert event.datacontenttype == "application/json"
    assert event.specversion == "1.0"
    assert event.data == {"business_date": "2026-01-25"}
    assert event.identity == ("corebank", event.id)


def test_encode_writes_compact_utf8_json_with_the_time_in_utc() -> None:
    time = datetime(2026, 1, 26, 0, 30, tzinfo=timezone(timedelta(hours=8)))
    source = "核心银行"
    event = new_event(EventTypes.BUSINESS_DAY_CLOSED, source, None, CLOSE, id="evt-1", time=time)
    assert (
        encode(event)
        == (
            '{"specversion":"1.0","id":"evt-1","source":"核心银行",'
            '"type":"corebank.business-day.closed","time":"2026-01-25T16:30:00Z",'
            '"datacontenttype":"application/json","data":{"business_date":"2026-01-25"}}'
        ).encode()
    )


def test_fractions_of_a_second_are_kept() -> None:
    time = datetime(2026, 1, 25, 16, 0, 0, 123456, tzinfo=UTC)
    event = new_event(EventTypes.BUSINESS_DAY_CLOSED, "c", None, CLOSE, time=time)
    assert json.loads(encode(event))["time"] == "2026-01-25T16:00:00.123456Z"
    assert decode(encode(event)).time == time


def test_decode_accepts_an_offset_and_lower_case_t_and_z() -> None:
    raw = b'{"specversion":"1.0","id":"1","source":"s","type":"t","time":"%s","data":{}}'
    assert decode(raw % b"2026-01-26T00:00:00+08:00").time == datetime(2026, 1, 25, 16, tzinfo=UTC)
    assert decode(raw % b"2026-01-25t16:00:00z").time == datetime(2026, 1, 25, 16, tzinfo=UTC)


def test_time_and_subject_are_optional_on_input_and_the_content_type_defaults() -> None:
    event = decode(b'{"specversion":"1.0","id":"1","source":"s","type":"t","data":{}}')
    assert event.time is None and event.subject is None
    assert event.datacontenttype == "application/json"


def test_a_naive_time_is_refused_when_building_an_event() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        new_event(EventTypes.BUSINESS_DAY_CLOSED, "c", None, CLOSE, time=datetime(2026, 1, 25))


def test_the_envelope_is_immutable() -> None:
    event = new_event(EventTypes.BUSINESS_DAY_CLOSED, "c", None, CLOSE)
    with pytest.raises(ValidationError):
        event.id = "other"  # type: ignore[misc]
    assert isinstance(event, CloudEvent)


def test_the_topic_names_are_the_manifests_and_each_dead_letter_topic_its_twin() -> None:
    """The names the code uses are the topics deploy/topics.yaml creates (DOMAIN.md section 8)."""
    manifest = yaml.safe_load((REPO_ROOT / "deploy" / "topics.yaml").read_text(encoding="utf-8"))
    declared = {value for name, value in vars(Topics).items() if name.isupper()}
    assert declared == {topic["name"] for topic in manifest["topics"]}
    assert {spec.topic for spec in CATALOG.values()} == declared
    assert all(dlq_topic(topic) == f"{topic}.dlq" for topic in declared)

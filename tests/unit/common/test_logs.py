"""The logs' filter of repeated Kafka client records (``logs.RepeatedRecords``)."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from collections_common.logs import RepeatedRecords, configure_logging

CONNECT = "Unable connect to node with id %s: %s"
METADATA = "Unable to update metadata from %s"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def record(logger: str, msg: str, *args: object, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(logger, level, __file__, 1, msg, args, None)


def test_the_first_record_of_a_kind_passes_and_its_repeats_are_counted_into_the_next_one_written() -> None:
    clock = Clock()
    repeats = RepeatedRecords(window=30, clock=clock)
    assert repeats.filter(record("aiokafka", CONNECT, 1, "refused"))
    for _ in range(500):
        clock.now += 0.05
        assert not repeats.filter(record("aiokafka", CONNECT, 1, "refused"))
    clock.now += 5.1  # 30.1 s after the first one
    summary = record("aiokafka", CONNECT, 1, "refused")
    assert repeats.filter(summary)
    assert summary.left_out == 500  # type: ignore[attr-defined]
    clock.now += 1
    assert not repeats.filter(record("aiokafka", CONNECT, 1, "refused"))


def test_a_record_after_a_quiet_window_passes_without_a_count() -> None:
    clock = Clock()
    repeats = RepeatedRecords(window=30, clock=clock)
    assert repeats.filter(record("aiokafka", CONNECT, 1, "refused"))
    clock.now += 31
    again = record("aiokafka", CONNECT, 1, "refused")
    assert repeats.filter(again)
    assert not hasattr(again, "left_out")


def test_each_kind_of_kafka_record_is_written_once_at_least() -> None:
    repeats = RepeatedRecords(window=30, clock=Clock())
    kinds = [
        record("aiokafka", CONNECT, 1, "refused"),
        record("aiokafka", METADATA, [1]),
        record("aiokafka.consumer.fetcher", "Failed fetch messages from %s: %s", 1, "NodeNotReadyError"),
        record("aiokafka.consumer.group_coordinator", "Group Coordinator Request failed: %s", "x"),
        record("aiokafka", "Unable to request metadata from %s: %r", 1, "x", level=logging.WARNING),
        record("kafka.conn", CONNECT, 1, "refused"),
    ]
    assert [repeats.filter(r) for r in kinds] == [True] * len(kinds)
    assert [repeats.filter(r) for r in kinds] == [False] * len(kinds)


def test_records_of_other_loggers_always_pass() -> None:
    repeats = RepeatedRecords(window=30, clock=Clock())
    for name in ("collections_common.runtime.runner", "aiokafkaish", "uvicorn.error", "root"):
        assert all(repeats.filter(record(name, "stopping: %s", "x")) for _ in range(100))


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in ("aiokafka", "kafka")}
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, saved in levels.items():
            logging.getLogger(name).setLevel(saved)


@pytest.mark.usefixtures("restored_logging")
def test_a_worker_log_shows_a_broker_outage_in_a_few_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """The process's own handler: a thousand connection errors within the window (milliseconds)
    are one line; other errors are all written."""
    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", out)
    configure_logging("test")
    kafka = logging.getLogger("aiokafka")
    runner = logging.getLogger("collections_common.runtime.runner")
    for attempt in range(1000):
        kafka.error(CONNECT, 1, f"refused {attempt}")
    runner.error("a distinct error")
    runner.error("a distinct error")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("aiokafka", "Unable connect to node with id 1: refused 0"),
        ("collections_common.runtime.runner", "a distinct error"),
        ("collections_common.runtime.runner", "a distinct error"),
    ]

"""Structured JSON logs. Every line logged while an event is handled carries its identity."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter

REPEAT_WINDOW_SECONDS = 30.0
"""The Kafka client's log records of one kind are written at most once per this many seconds."""

_event_context: ContextVar[dict[str, Any] | None] = ContextVar("event_context", default=None)


class _EventContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        for key, value in (_event_context.get() or {}).items():
            setattr(record, key, value)
        return True


class RepeatedRecords(logging.Filter):
    """Writes the records of the loggers under ``prefixes`` at most once per ``window`` seconds
    per kind (logger and message template); the rest are counted, and the next one written
    carries ``left_out``, how many of its kind were left out since the one before.

    The Kafka client logs an error for every attempt to reach a broker that is gone (an aging
    worker wrote 3,346 lines in a 25 s outage of the broker, docs/benchmarks.md). The first
    record of each kind is written at once, so every distinct error still shows; records of other
    loggers always pass. A count left when the repeats stop is not written: it would take a
    record of the same kind to carry it.
    """

    def __init__(
        self,
        prefixes: tuple[str, ...] = ("aiokafka", "kafka"),
        window: float = REPEAT_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._prefixes = prefixes
        self._window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._kinds: dict[tuple[str, str], tuple[float, int]] = {}  # last written, left out since

    def filter(self, record: logging.LogRecord) -> bool:
        if not any(record.name == p or record.name.startswith(f"{p}.") for p in self._prefixes):
            return True
        kind = (record.name, str(record.msg))
        with self._lock:
            now = self._clock()
            seen = self._kinds.get(kind)
            if seen is not None and now - seen[0] < self._window:
                self._kinds[kind] = (seen[0], seen[1] + 1)
                return False
            self._kinds[kind] = (now, 0)
        if seen is not None and seen[1]:
            record.left_out = seen[1]
        return True


@contextmanager
def event_log_context(**fields: Any) -> Iterator[None]:
    """Within the block, every log line carries ``fields`` (event id, type, topic, offset...)."""
    token = _event_context.set({**(_event_context.get() or {}), **fields})
    try:
        yield
    finally:
        _event_context.reset(token)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send JSON lines to stderr for the whole process (idempotent)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )
    )
    handler.addFilter(RepeatedRecords())
    handler.addFilter(_EventContextFilter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))

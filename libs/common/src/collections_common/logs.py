"""Structured JSON logs. Every line logged while an event is handled carries its identity."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter

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
    handler.addFilter(_EventContextFilter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))

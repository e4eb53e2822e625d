"""Errors of the event runtime and the line between transient and permanent failures.

::

    EventRuntimeError
    └── BadInput            a message that can never be applied: it goes to the dead-letter topic

Transient failures (the database or the broker unreachable) are not errors of the message:
the runner pauses and retries them, never skips.
"""

from __future__ import annotations

from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError, NodeNotReadyError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError


class EventRuntimeError(Exception):
    """Base of the runtime's errors."""


class BadInput(EventRuntimeError):
    """A message that can never be applied as it is; ``reason`` goes into the dead letter."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_TRANSIENT_KAFKA = (KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError)


def is_transient(exc: BaseException) -> bool:
    """True when retrying later can succeed: lost connections, timeouts, a database restarting."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, _TRANSIENT_KAFKA):
        return True
    if isinstance(exc, KafkaError) and getattr(exc, "retriable", False):
        return True
    if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
        return True
    cause = exc.__cause__ or exc.__context__
    name = type(exc).__name__
    if name in {
        "CannotConnectNowError",
        "ConnectionDoesNotExistError",
        "AdminShutdownError",
        "ConnectionFailureError",
        "TooManyConnectionsError",
    }:
        return True
    return cause is not None and cause is not exc and is_transient(cause)

"""Errors of the event runtime, and the line between transient and permanent failures.

::

    EventRuntimeError
    ├── BadInput         a message that can never be applied: it goes to the dead-letter topic
    └── RunnerControl    how the consumer runner steers itself; never a message's fault
        ├── StalePosition   another consumer moved the partition past the batch: re-read it
        ├── GateFailed      the gate failed for a reason that is not transient: the runner stops
        └── Abandoned       stopping without the work in hand: what it did not commit is read again

Transient failures (the database or the broker unreachable) are not errors of the message:
the runner pauses and retries them, never skips. :func:`is_transient` classifies a library's
exception at the boundary by what it is (connection lost, serialization failure, broker
unavailable), never by what it was raised from or while handling.
"""

from __future__ import annotations

import socket

import asyncpg.exceptions as asyncpg_errors
from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError, NodeNotReadyError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout


class EventRuntimeError(Exception):
    """Base of the runtime's errors."""


class BadInput(EventRuntimeError):
    """A message that can never be applied as it is; ``reason`` goes into the dead letter."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RunnerControl(EventRuntimeError):
    """Raised inside the consumer runner to change its course; no event is to blame."""


class StalePosition(RunnerControl):
    """Another consumer has already moved this partition past the batch (we lost ownership)."""


class GateFailed(RunnerControl):
    """The gate failed for a reason that is not transient: no event is to blame, so the batch is
    not retried event by event (which would dead-letter them); the runner stops."""


class Abandoned(RunnerControl):
    """Stopping without the work in hand: its transaction rolled back, or committed whole if the
    stop met its COMMIT (the stored positions say which); what was not committed is read again."""


_TRANSIENT_KAFKA = (KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError)

_TRANSIENT_SQLSTATES = frozenset(
    {
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "53300",  # too_many_connections
        "57P01",  # admin_shutdown
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now
    }
)
"""PostgreSQL errors after which the same work can succeed; class 08 (connection) is too."""

_TRANSIENT_DRIVER_ERRORS = (
    asyncpg_errors.CannotConnectNowError,
    asyncpg_errors.ConnectionDoesNotExistError,
    asyncpg_errors.ConnectionFailureError,
    asyncpg_errors.AdminShutdownError,
    asyncpg_errors.TooManyConnectionsError,
)
"""asyncpg's errors for a lost or refused connection, when raised outside SQLAlchemy."""


def is_transient(exc: BaseException) -> bool:
    """True when retrying later can succeed: a lost or refused connection, a timeout, a database
    restarting, a serialization failure or deadlock, a broker unavailable.

    Only what ``exc`` itself is counts, never what it was raised from or while handling: a bug
    in an ``except`` block around a database error is a bug (retried forever, it would stall its
    partition), not an outage.
    """
    if isinstance(exc, (OperationalError, InterfaceError, PoolTimeout)):
        return True
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or _transient_sqlstate(exc.orig)
    if isinstance(exc, _TRANSIENT_KAFKA):
        return True
    if isinstance(exc, KafkaError):
        return bool(getattr(exc, "retriable", False))
    if isinstance(exc, (ConnectionError, TimeoutError, socket.gaierror)):
        return True
    if type(exc) is OSError:  # asyncio's failed connect to several addresses: a bare OSError
        return True
    return isinstance(exc, _TRANSIENT_DRIVER_ERRORS) or _transient_sqlstate(exc)


def _transient_sqlstate(error: object) -> bool:
    state = getattr(error, "sqlstate", None)
    return isinstance(state, str) and (state.startswith("08") or state in _TRANSIENT_SQLSTATES)


def failure_reason(exc: BaseException) -> str:
    """A dead letter's reason for an event whose handler failed: the kind of failure, never its
    message (a database error's message holds the SQL and its parameters, i.e. the values)."""
    if isinstance(exc, BadInput):
        return exc.reason
    if isinstance(exc, DBAPIError | asyncpg_errors.PostgresError):
        # the same reason whether the statement went through SQLAlchemy or to the driver directly
        state = getattr(exc.orig if isinstance(exc, DBAPIError) else exc, "sqlstate", None)
        return f"handler error: database refused the event (SQLSTATE {state or 'unknown'})"
    return f"handler error: {type(exc).__name__}"

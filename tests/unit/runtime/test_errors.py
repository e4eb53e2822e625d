"""Which failures the runner retries (transient) and which it treats as the event's or a bug's."""

from __future__ import annotations

import socket

import asyncpg.exceptions
import pytest
from aiokafka.errors import KafkaConnectionError, RecordTooLargeError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from collections_common.runtime.errors import (
    Abandoned,
    EventRuntimeError,
    GateFailed,
    RunnerControl,
    StalePosition,
    failure_reason,
    is_transient,
)


class _DriverError(Exception):
    """Stands for the driver's error, which carries the SQLSTATE PostgreSQL answered."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


def _database_error(sqlstate: str) -> DBAPIError:
    return DBAPIError("SELECT 1", {}, _DriverError(sqlstate))


def _raised_while_handling(first: Exception, second: Exception) -> Exception:
    try:
        try:
            raise first
        except type(first):
            raise second  # noqa: B904 - the implicit context is the point
    except type(second) as exc:
        return exc
    raise AssertionError("unreachable")


class TestTransientFailures:
    @pytest.mark.parametrize(
        "exc",
        [
            _database_error("40001"),  # serialization failure
            _database_error("40P01"),  # deadlock
            _database_error("08006"),  # connection failure
            _database_error("57P01"),  # admin shutdown
            OperationalError("SELECT 1", {}, Exception("server closed the connection")),
            ConnectionRefusedError(111, "Connection refused"),
            OSError("Multiple exceptions: [Errno 111] Connect call failed"),
            socket.gaierror(-2, "Name or service not known"),
            TimeoutError(),
            KafkaConnectionError(),
        ],
        ids=repr,
    )
    def test_an_outage_is_retried(self, exc: BaseException) -> None:
        assert is_transient(exc)


class TestPermanentFailures:
    @pytest.mark.parametrize(
        "exc",
        [
            _database_error("22003"),  # numeric value out of range
            _database_error("22021"),  # invalid byte sequence (a NUL in text)
            IntegrityError("INSERT", {}, _DriverError("23505")),
            FileNotFoundError(2, "No such file"),
            RecordTooLargeError(),
            ValueError("a bug"),
        ],
        ids=repr,
    )
    def test_bad_input_or_a_bug_is_not_retried(self, exc: BaseException) -> None:
        assert not is_transient(exc)

    @pytest.mark.parametrize(
        "cause",
        [
            OperationalError("SELECT 1", {}, Exception("connection lost")),
            ConnectionResetError(),
            _database_error("40001"),
        ],
        ids=repr,
    )
    def test_a_bug_raised_while_handling_an_outage_is_a_bug(self, cause: Exception) -> None:
        bug = _raised_while_handling(cause, KeyError("missing"))
        assert bug.__context__ is cause
        assert not is_transient(bug)

    def test_a_bug_raised_from_an_outage_is_a_bug(self) -> None:
        bug = RuntimeError("wrapped")
        bug.__cause__ = ConnectionResetError()
        assert not is_transient(bug)


class TestDriverErrorsByWhatTheyAre:
    def test_asyncpg_losing_its_connection_outside_sqlalchemy_is_retried(self) -> None:
        assert is_transient(asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"))

    def test_an_error_merely_named_like_a_driver_error_is_not(self) -> None:
        class ConnectionDoesNotExistError(Exception):
            """A service's own error that happens to share asyncpg's class name."""

        assert not is_transient(ConnectionDoesNotExistError())


class TestRunnerControl:
    def test_the_runners_own_errors_are_in_the_runtime_error_tree_and_never_transient(self) -> None:
        for error in (StalePosition("p"), GateFailed("g"), Abandoned()):
            assert isinstance(error, RunnerControl) and isinstance(error, EventRuntimeError)
            assert not is_transient(error)


class TestFailureReasons:
    def test_a_refused_statement_gives_its_sqlstate_whether_sent_through_sqlalchemy_or_not(self) -> None:
        direct = asyncpg.exceptions.UniqueViolationError("duplicate key value violates unique constraint")
        through = IntegrityError("INSERT", {}, direct)
        expected = "handler error: database refused the event (SQLSTATE 23505)"
        assert failure_reason(through) == expected
        assert failure_reason(direct) == expected, "the values in the message stay out of the reason"

    def test_another_failure_gives_only_its_kind(self) -> None:
        assert failure_reason(ValueError("a value")) == "handler error: ValueError"

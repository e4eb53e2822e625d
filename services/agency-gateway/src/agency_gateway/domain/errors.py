"""Errors of the gateway's domain; each message is safe to tell the caller."""

from __future__ import annotations


class CaseNotFound(Exception):
    """No case with this id is placed with the caller's agency (unknown, another's, or recalled)."""

    def __init__(self) -> None:
        super().__init__("no case with this id is placed with your agency")


class UnknownAgency(Exception):
    def __init__(self) -> None:
        super().__init__("no agency with this id is registered")


class UnknownClient(Exception):
    def __init__(self) -> None:
        super().__init__("no active API client with this id belongs to this agency")


class AgencyExists(Exception):
    def __init__(self) -> None:
        super().__init__("an agency with this id is already registered")


class InvalidAgency(Exception):
    """The agency's record breaks a rule (the message names it)."""


class InvalidCursor(Exception):
    def __init__(self) -> None:
        super().__init__("the cursor is not one this API issued")


class InvalidReport(Exception):
    """A report breaks a rule (the message names it)."""


class IdempotencyKeyReused(Exception):
    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was used with a different request")


class InvalidIdempotencyKey(Exception):
    def __init__(self) -> None:
        super().__init__("the Idempotency-Key header must be 1-255 printable ASCII characters")

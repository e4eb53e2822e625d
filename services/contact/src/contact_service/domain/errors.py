"""Errors the contact service's use cases raise towards its callers; messages name no values."""

from __future__ import annotations

__all__ = [
    "ContactError",
    "InvalidHold",
    "InvalidOutcome",
    "OutcomeConflict",
    "UnknownAccount",
    "UnknownCase",
    "UnknownThing",
]


class ContactError(Exception):
    """A request the contact service cannot carry out; the message says why, naming no values."""


class UnknownThing(ContactError):
    """Something the request names does not exist."""


class UnknownAccount(UnknownThing):
    """The contact service has seen no ``account.opened`` for this account."""

    def __init__(self) -> None:
        super().__init__("the contact service knows no such account")


class UnknownCase(UnknownThing):
    """No case for this debtor."""

    def __init__(self) -> None:
        super().__init__("the contact service has no case for this customer")


class OutcomeConflict(ContactError):
    """The request conflicts with what is recorded (a second, different outcome; a hold already ended)."""


class InvalidOutcome(ContactError):
    """A well-formed request that breaks a rule of the contact service."""


class InvalidHold(ContactError):
    """A hold whose dates cannot be: it would end before it starts."""

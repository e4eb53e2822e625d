"""Errors of the aging domain.

```
AgingError
 ├── InvalidPolicy            the aging configuration is unusable (also a ValueError)
 ├── InconsistentBook         an AccountBook broke one of its own invariants (a bug)
 ├── UnknownAccount           a read of an account aging has seen no event for (HTTP 404)
 └── RejectedEvent            bad input: the event goes to the DLQ, the book is unchanged
      ├── CurrencyMismatch     a currency that differs from the account's
      ├── ConflictingDuplicate same identity as a recorded fact, different content
      └── InvalidFact          a value no event may carry (negative amount, ...)
```

Every ``RejectedEvent`` carries a human-readable ``reason`` (for the DLQ headers) and a
stable ``code`` (for metric labels).
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AgingError",
    "ConflictingDuplicate",
    "CurrencyMismatch",
    "InconsistentBook",
    "InvalidFact",
    "InvalidPolicy",
    "RejectedEvent",
    "UnknownAccount",
]


class AgingError(Exception):
    """Base class of every error raised by the aging domain."""


class InvalidPolicy(AgingError, ValueError):
    """The aging configuration (buckets, grace, tolerance) is unusable."""


class InconsistentBook(AgingError):
    """An AccountBook broke one of its invariants; a bug, never the input's fault."""


class UnknownAccount(AgingError):
    """Aging has seen no event for this account; the message, written for the API's caller, names
    the rule and not the id the caller sent."""

    def __init__(self, account_id: str) -> None:
        super().__init__("the account is unknown to aging")
        self.account_id = account_id


class RejectedEvent(AgingError):
    """Bad input: the event is refused and the account book is left unchanged."""

    code: ClassVar[str] = "rejected"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CurrencyMismatch(RejectedEvent):
    """The event's currency differs from the account's."""

    code: ClassVar[str] = "currency_mismatch"


class ConflictingDuplicate(RejectedEvent):
    """A statement, payment, reage or opening with a known identity but different content."""

    code: ClassVar[str] = "conflicting_duplicate"


class InvalidFact(RejectedEvent):
    """A value no such event may carry (negative amount, due date before statement date)."""

    code: ClassVar[str] = "invalid_fact"

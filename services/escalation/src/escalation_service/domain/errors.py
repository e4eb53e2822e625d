"""Errors of the escalation domain.

```
EscalationError
 ├── InvalidRules            the rules file is unusable (also a ValueError); names file and location
 └── DomainRuleViolation     a command breaks a rule of the domain (the API answers 422)
      ├── InvalidTransition   the thing is not in a state that allows this command
      ├── InvalidOffer        restructuring terms out of bounds (instalments, fee reduction, dates)
      ├── OfferExpired        an offer accepted after its expiry date
      ├── InvalidVisit        a visit prepared, arranged or completed without what seed 003 requires
      └── InvalidLegalStep    a legal step out of order or with an impossible date
```

Every ``DomainRuleViolation`` carries a human-readable ``reason`` (the API's problem detail) and
a stable ``code`` (for metric labels and clients).
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "DomainRuleViolation",
    "EscalationError",
    "InvalidLegalStep",
    "InvalidOffer",
    "InvalidRules",
    "InvalidTransition",
    "InvalidVisit",
    "OfferExpired",
]


class EscalationError(Exception):
    """Base class of every error raised by the escalation domain."""


class InvalidRules(EscalationError, ValueError):
    """The rules configuration is unusable; ``problems`` lists each one with its location."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"invalid escalation rules in {source}:\n  " + "\n  ".join(problems))
        self.source = source
        self.problems = problems


class DomainRuleViolation(EscalationError):
    """A command breaks a rule of the domain; nothing was changed."""

    code: ClassVar[str] = "domain_rule_violation"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidTransition(DomainRuleViolation):
    """The thing is not in a state that allows this command (accepting a declined offer, ...)."""

    code: ClassVar[str] = "invalid_transition"


class InvalidOffer(DomainRuleViolation):
    """Restructuring terms out of bounds."""

    code: ClassVar[str] = "invalid_offer"


class OfferExpired(InvalidTransition):
    """An offer answered after its expiry date."""

    code: ClassVar[str] = "offer_expired"


class InvalidVisit(DomainRuleViolation):
    """A home visit lacks what seed 003 requires (materials, plan, two field staff, a record)."""

    code: ClassVar[str] = "invalid_visit"


class InvalidLegalStep(DomainRuleViolation):
    """A legal step out of order, repeated, or dated impossibly."""

    code: ClassVar[str] = "invalid_legal_step"

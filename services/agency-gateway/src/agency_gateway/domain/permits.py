"""The permit decision an agency is answered (DOMAIN.md section 5, the agency as the party)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

CONTACT_SERVICE_UNAVAILABLE = "contact_service_unavailable"
"""The rule of a refusal given because the contact service did not answer in time (fail closed)."""


@dataclass(frozen=True)
class PermitDecision:
    allowed: bool
    permit_id: str | None = None
    customer_id: str | None = None
    expires_at: datetime | None = None
    rule: str | None = None
    reason: str | None = None
    retry_after: datetime | None = None


def fail_closed(reason: str) -> PermitDecision:
    """A refusal: the contact service could not decide, so the contact may not happen."""
    return PermitDecision(allowed=False, rule=CONTACT_SERVICE_UNAVAILABLE, reason=reason)

"""When a debtor is unreachable (DOMAIN.md section 5).

A debtor is unreachable after ``threshold`` (default 3) failed attempts (unanswered, including
``unknown``, or ``wrong_number``) on every known contact point of their own, counted since the
last time the debtor was reached (a connected attempt on any point, or an inbound contact).
A debtor with no contact point of their own is unreachable: there is nothing left to try.
Pending attempts are not failures yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from contact_service.domain.compliance import ContactHistory
from contact_service.domain.contact import CONNECTED, UNANSWERED, ContactPoint, Outcome, Owner

__all__ = ["FAILED_ATTEMPT", "is_unreachable"]

#: Outcomes that count as a failed attempt.
FAILED_ATTEMPT: frozenset[Outcome] = UNANSWERED | {Outcome.WRONG_NUMBER}


def is_unreachable(
    contact_points: Sequence[ContactPoint], history: ContactHistory, now: datetime, threshold: int = 3
) -> bool:
    """Whether every own contact point has ``threshold`` failed attempts since the debtor was last reached."""
    if threshold < 1:
        raise ValueError("the threshold must be at least 1")
    own = {point.value for point in contact_points if point.owner is Owner.DEBTOR}
    if not own:
        return True
    reached = [permit.at for permit in history.permits if permit.outcome_as_of(now) in CONNECTED]
    reached += [contact.at for contact in history.inbound]
    since = max(reached, default=None)
    failures = dict.fromkeys(own, 0)
    for permit in history.permits:
        if permit.contact_point not in failures or (since is not None and permit.at <= since):
            continue
        if permit.outcome_as_of(now) in FAILED_ATTEMPT:
            failures[permit.contact_point] += 1
    return all(count >= threshold for count in failures.values())

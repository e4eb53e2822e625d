"""Prometheus metrics of the escalation service (the runtime's own come from collections_common).

Counters move only when the transaction that did the work commits (``count_on_commit``): a batch
rolled back and retried counts once.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

ACTIONS = Counter(
    "collections_escalation_actions_total",
    "Escalation actions by type and what became of them",
    ["action", "status"],
)
PLACEMENTS_ACTIVE = Gauge(
    "collections_escalation_placements_active", "Placements not recalled, per agency", ["agency"]
)
RECALLS = Counter("collections_escalation_recalls_total", "Placements recalled, by reason", ["reason"])
OFFERS = Counter(
    "collections_escalation_offers_total", "Restructuring offers by what happened to them", ["status"]
)
LETTERS_SENT = Counter(
    "collections_escalation_letters_sent_total", "Demand letters the provider accepted", ["language"]
)
LETTER_DISPATCH_FAILURES = Counter(
    "collections_escalation_letter_dispatch_failures_total", "Dispatch rounds that failed", ["final"]
)

_PENDING = "escalation_metrics_pending"
_LISTENING = "escalation_metrics_listening"


def count_on_commit(session: AsyncSession, child: Any) -> None:
    """Increment ``child`` (a labelled counter) once ``session``'s transaction commits; never if
    it rolls back."""
    if not session.info.get(_LISTENING):
        session.info[_LISTENING] = True
        sync = session.sync_session
        event.listen(sync, "after_commit", _run_pending)
        event.listen(sync, "after_rollback", _forget_pending)
    session.info.setdefault(_PENDING, []).append(child)


def _run_pending(session: Session) -> None:
    for child in session.info.pop(_PENDING, []):
        child.inc()


def _forget_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)

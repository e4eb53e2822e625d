"""Prometheus metrics of the contact service (the runtime's own come from collections_common).

``collections_contact_permits_total`` keeps the name and labels the alert rules use (README,
Monitoring); the others are named ``collections_contact_*``. Counters of what a transaction
did are incremented when it commits (``count_on_commit``), never for one rolled back.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

PERMITS = Counter(
    "collections_contact_permits_total",
    "Permit decisions",
    ["channel", "party", "allowed", "rule"],
)
ATTEMPTS = Counter(
    "collections_contact_attempts_total", "Outcomes reported for allowed permits", ["channel", "outcome"]
)
PROMISES = Counter("collections_contact_promises_total", "Promises to pay by what became of them", ["status"])
CANCELLATIONS = Counter(
    "collections_contact_cancelled_total", "Pending contacts and call tasks cancelled", ["reason"]
)
PROVIDER_ERRORS = Counter(
    "collections_contact_provider_errors_total", "Failed provider calls (each try)", ["channel", "kind"]
)
PROVIDER_SECONDS = Histogram(
    "collections_contact_provider_seconds",
    "Time of one provider call",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SENT = Counter("collections_contact_sent_total", "Planned contacts sent", ["channel"])
DEFERRED = Counter("collections_contact_deferred_total", "Planned contacts deferred by a rule", ["rule"])
QUEUE_DEPTH = Gauge("collections_contact_queue_depth", "Planned contacts due now and not yet sent")
DEFERRED_WAITING = Gauge(
    "collections_contact_deferred_waiting", "Planned contacts waiting for a rule to allow them"
)
PROMISE_CLOSES_WAITING = Gauge(
    "collections_contact_promise_closes_waiting",
    "Closes whose promises wait for the payments published before them to be applied",
)
STAGE_CHANGES_WAITING = Gauge(
    "collections_contact_stage_changes_waiting",
    "Stage changes kept until their account's opening is applied (refreshed by the worker)",
)
CALL_TASKS_PENDING = Gauge("collections_contact_call_tasks_pending", "Call tasks waiting for a collector")
PERMIT_SECONDS = Histogram(
    "collections_contact_permit_seconds",
    "Time to decide and store one permit (lock, history, decision, insert)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)

_PENDING = "contact_metrics_pending"
_LISTENING = "contact_metrics_listening"


def count_on_commit(session: AsyncSession, child: Any, amount: float = 1) -> None:
    """Increment ``child`` (a labelled counter) by ``amount`` once ``session``'s transaction
    commits; never if it rolls back."""
    if not session.info.get(_LISTENING):
        session.info[_LISTENING] = True
        sync = session.sync_session
        event.listen(sync, "after_commit", _run_pending)
        event.listen(sync, "after_rollback", _forget_pending)
    session.info.setdefault(_PENDING, []).append((child, amount))


def _run_pending(session: Session) -> None:
    for child, amount in session.info.pop(_PENDING, []):
        child.inc(amount)


def _forget_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)

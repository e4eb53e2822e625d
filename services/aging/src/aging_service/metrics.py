"""Prometheus metrics of the aging service (the runtime's own come from collections_common)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

STAGE_TRANSITIONS = Counter(
    "aging_stage_transitions_total", "Stage changes emitted", ["from_stage", "to_stage", "cause"]
)
ACCOUNTS_BY_STAGE = Gauge("aging_accounts", "Accounts per stage", ["stage"])
PAST_DUE_BY_STAGE = Gauge(
    "aging_past_due_minor", "Past-due amount per stage, in minor units", ["stage", "currency"]
)
DAY_CLOSE_SECONDS = Histogram(
    "aging_day_close_seconds",
    "Time to apply one business-day close to one partition",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
DAY_CLOSE_ACCOUNTS = Counter(
    "aging_day_close_accounts_total", "Accounts a close had to look at (those whose stage could change)"
)
CLOSES_PENDING = Gauge("aging_closes_pending", "Closes noted but not yet applied to an assigned partition")
CLOSED_THROUGH = Gauge(
    "aging_closed_through_date_seconds",
    "The business date every partition is closed through (the oldest partition clock), "
    "as Unix time of that date's 00:00 UTC",
)
LAST_NOTED_CLOSE = Gauge(
    "aging_close_noted_date_seconds",
    "The latest business date whose close core banking published, as Unix time of its 00:00 UTC",
)
CLOSE_WAIT = Gauge(
    "aging_close_wait_seconds",
    "Seconds since the oldest close not yet applied to every partition was noted; 0 when none waits",
)

"""Prometheus metrics of the event runtime (each process exposes its own at ``/metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_HANDLED = Counter(
    "collections_events_handled_total", "Events applied by a consumer", ["consumer", "topic", "type"]
)
EVENTS_FAILED = Counter(
    "collections_events_failed_total",
    "Events that could not be applied and went to the dead-letter topic",
    ["consumer", "topic", "type"],
)
EVENTS_DUPLICATE = Counter(
    "collections_events_duplicate_total", "Redelivered events skipped by identity", ["consumer", "topic"]
)
DEAD_LETTERS = Counter(
    "collections_dead_letters_total",
    "Messages sent to a dead-letter topic",
    ["consumer", "topic", "reason_kind"],
)
HANDLER_SECONDS = Histogram(
    "collections_handler_seconds",
    "Time to decode, handle and commit one batch, per event in it",
    ["consumer"],
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
BATCH_SECONDS = Histogram(
    "collections_batch_seconds",
    "Time to handle and commit one batch",
    ["consumer"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CONSUMER_LAG = Gauge(
    "collections_consumer_lag", "Messages behind the partition's end", ["consumer", "topic", "partition"]
)
CONSUMER_STARTED = Gauge(
    "collections_consumer_started_timestamp_seconds",
    "Unix time at which the consumer last started, before joining its group (or taking its partitions)",
    ["consumer"],
)
TRANSIENT_FAILURES = Counter(
    "collections_transient_failures_total",
    "Batches retried because the database or broker was unavailable",
    ["consumer", "component"],
)
OUTBOX_BACKLOG = Gauge("collections_outbox_backlog", "Outbox rows not yet published (lanes this relay holds)")
OUTBOX_PUBLISHED = Counter("collections_outbox_published_total", "Outbox rows published", ["topic"])
OUTBOX_PUBLISH_SECONDS = Histogram(
    "collections_outbox_publish_latency_seconds",
    "Time from an outbox row's commit to its acknowledgement by Kafka",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
RETAINED_ROWS = Gauge(
    "collections_retained_rows", "Rows the runtime keeps after the last retention pass", ["table"]
)
OUTBOX_LANES = Gauge("collections_outbox_lanes_held", "Outbox lanes this relay publishes")
HTTP_REQUEST_SECONDS = Histogram(
    "collections_http_request_seconds",
    "Time to answer one HTTP request, by route template and status code",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

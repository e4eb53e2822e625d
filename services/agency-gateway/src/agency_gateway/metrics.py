"""Prometheus metrics of the agency gateway (README, Monitoring)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "collections_gateway_requests_total",
    "Requests answered by the agency gateway, by route template, API client and status",
    ["route", "client", "status"],
)
REQUEST_SECONDS = Histogram(
    "collections_gateway_request_seconds",
    "Time to answer one request of the agency gateway, by route template",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
AUTH_FAILURES = Counter(
    "collections_gateway_auth_failures_total",
    "Requests refused for authentication or authorisation",
    ["agency", "reason"],
)
PERMITS = Counter(
    "collections_gateway_permits_total",
    "Permit decisions answered to agencies, by whether allowed and the rule that refused",
    ["allowed", "rule"],
)
REPORTS = Counter(
    "collections_gateway_reports_total",
    "Activities and returns agencies reported, by kind and whether the contact broke a rule",
    ["kind", "violation"],
)
AUDIT_RECORDS = Counter(
    "collections_gateway_audit_records_total", "Personal-data reads written to the audit log"
)
PLACEMENTS = Counter(
    "collections_gateway_placements_total",
    "Placements applied: placed, refused (the agency may not take new work) or recalled",
    ["outcome"],
)

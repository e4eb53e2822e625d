"""The contact KPIs as Prometheus gauges (set by ``kpi_gauges.KpiGauges``)."""

from __future__ import annotations

from prometheus_client import Gauge

PROMISE_KEPT_RATE = Gauge(
    "collections_kpi_promise_kept_rate",
    "Promises decided kept over those decided kept or broken, in the month to date of the contact clock",
)
CONTACTS_PER_CURE = Gauge(
    "collections_kpi_contacts_per_cure",
    "Contact attempts (allowed permits) over cures, in the month to date of the contact clock",
)
for _gauge in (PROMISE_KEPT_RATE, CONTACTS_PER_CURE):
    _gauge.set(float("nan"))  # unknown until the first refresh, not 0

"""The escalation KPIs as Prometheus gauges (set by ``kpi_gauges.KpiGauges``)."""

from __future__ import annotations

from prometheus_client import Gauge

AGENCY_RECOVERY_RATE = Gauge(
    "collections_kpi_agency_recovery_rate",
    "Paid during an agency's placements that started in the recovery window over their past due at placement",
    ["agency"],
)

"""The aging KPIs as Prometheus gauges (set by ``kpi_gauges.KpiGauges``)."""

from __future__ import annotations

from prometheus_client import Gauge

ROLL_RATE = Gauge(
    "collections_kpi_roll_rate",
    "Share of the accounts in from_stage at the second-latest month-end closed that are in to_stage "
    "(one stage worse) at the latest",
    ["from_stage", "to_stage"],
)
CURE_RATE = Gauge(
    "collections_kpi_cure_rate",
    "Share of the accounts delinquent at the second-latest month-end closed that are current at the latest",
)
CURE_RATE.set(float("nan"))  # unknown until the first refresh, not 0

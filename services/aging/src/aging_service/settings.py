"""Settings of the aging service (environment variables; see README)."""

from __future__ import annotations

from pydantic import Field, field_validator

from aging_service.domain.policy import AgingPolicy, Bucket
from collections_common.settings import ServiceSettings


class AgingSettings(ServiceSettings):
    service_name: str = "aging"
    http_port: int = 8001
    worker_port: int = 9101
    consumer_batch_max: int = Field(
        default=8000,
        ge=1,
        description="aging applies a batch with one load and one save, however many closes it passes:"
        " larger batches share them (a catch-up after an outage: docs/benchmarks.md)",
    )

    grace_days: int = Field(default=0, ge=0, description="DPD up to this many days counts as current")
    tolerance_minor: int = Field(default=0, ge=0, description="a past-due sum up to this is current")
    stage_buckets: str = Field(
        default="CURRENT:0,M1:1,M2:31,M3:61,M3+:91",
        description="ordered NAME:MIN_DPD pairs; e.g. append ',CHARGE_OFF:181'",
    )

    barrier_clock_skew_ms: int = Field(
        default=0,
        ge=0,
        le=60_000,
        description="how far apart the brokers' clocks may be; records stamped this close to a close"
        " are placed by their business date (rule 1's barrier, services/aging/.../barrier.py)",
    )

    @field_validator("stage_buckets")
    @classmethod
    def _valid_buckets(cls, value: str) -> str:
        AgingPolicy(buckets=parse_buckets(value))  # raises with a clear message when invalid
        return value

    @property
    def policy(self) -> AgingPolicy:
        return AgingPolicy(
            buckets=parse_buckets(self.stage_buckets),
            grace_days=self.grace_days,
            tolerance_minor=self.tolerance_minor,
        )


def parse_buckets(text: str) -> tuple[Bucket, ...]:
    buckets: list[Bucket] = []
    for item in text.split(","):
        name, sep, min_dpd = item.strip().rpartition(":")
        if not sep or not name or not min_dpd.strip().isdigit():
            raise ValueError(f"stage bucket {item!r} is not NAME:MIN_DPD")
        buckets.append(Bucket(name=name.strip(), min_dpd=int(min_dpd)))
    return tuple(buckets)

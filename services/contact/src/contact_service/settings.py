"""Settings of the contact service (environment variables; see README)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import Field, field_validator

from collections_common.settings import ServiceSettings
from contact_service.domain.packs import RulePack, pack_named
from contact_service.plans import DEFAULT_PLAN


class ContactSettings(ServiceSettings):
    service_name: str = "contact"
    http_port: int = 8002
    worker_port: int = 9102

    compliance_pack: str = Field(default="cn-seed", description="cn-seed, cn-2026 or us-regf")
    plan_file: Path = Field(default=DEFAULT_PLAN, description="the treatment-plan YAML; templates/ beside it")
    plan_horizon_days: int = Field(
        default=30, ge=1, le=366, description="how far ahead a stage's plan is laid out"
    )
    bank_name: str = Field(default="Bank", min_length=1, description="the sender named in messages")

    permit_service_subjects: tuple[str, ...] = Field(
        default=(),
        description="token subjects (e.g. the agency gateway's client) admitted to the permit routes "
        "as services, whatever their roles",
    )
    task_lock_minutes: int = Field(
        default=20, ge=1, le=24 * 60, description="how long a pulled call task stays locked"
    )

    sms_url: str = Field(default="http://127.0.0.1:8025/v1/sms", description="SMS provider endpoint")
    push_url: str = Field(default="http://127.0.0.1:8025/v1/push", description="push provider endpoint")
    ivr_url: str = Field(default="http://127.0.0.1:8025/v1/ivr", description="IVR provider endpoint")
    provider_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    provider_retries: int = Field(default=2, ge=0, le=10, description="retries inside one send, with backoff")
    provider_backoff_seconds: float = Field(
        default=0.2, ge=0, le=60, description="first retry delay; doubles"
    )
    resend_after_seconds: float = Field(
        default=30, gt=0, le=3600, description="a send that failed every retry is tried again this much later"
    )
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=2525, ge=1, le=65535)
    smtp_sender: str = "collections@bank.invalid"

    sender_enabled: bool = Field(default=True, description="the worker sends due planned contacts")
    sender_interval_ms: int = Field(default=500, ge=10, le=60_000)
    sender_batch: int = Field(default=50, ge=1, le=1000)
    expiry_interval_ms: int = Field(
        default=5_000, ge=10, le=600_000, description="how often unanswered expired permits become unknown"
    )
    expiry_batch: int = Field(default=200, ge=1, le=10_000)
    promise_judge_interval_ms: int = Field(
        default=500, ge=10, le=600_000, description="how often closes are checked for promises to judge"
    )
    promise_judge_margin_ms: int = Field(
        default=1_000,
        ge=1,
        le=600_000,
        description="a close's promises are judged no sooner than this after its broker timestamp"
        " (the broker's clock must have passed it; covers the skew between the two clocks)",
    )
    clock_offset_seconds: float = Field(
        default=0.0,
        description="added to the wall clock by the sender and the permit expiry (tests, demos)",
    )

    @field_validator("compliance_pack")
    @classmethod
    def _known_pack(cls, name: str) -> str:
        pack_named(name)
        return name

    @property
    def plan_horizon(self) -> timedelta:
        """How far after a stage's entry its plan's contacts go (``plan_horizon_days``)."""
        return timedelta(days=self.plan_horizon_days)

    @property
    def pack(self) -> RulePack:
        return pack_named(self.compliance_pack)

    def now(self) -> datetime:
        """The sender's clock: now, moved by ``clock_offset_seconds``."""
        return datetime.now(UTC) + timedelta(seconds=self.clock_offset_seconds)

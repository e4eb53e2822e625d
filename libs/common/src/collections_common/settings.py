"""Settings shared by every service, read from environment variables (pydantic-settings).

Each service subclasses :class:`ServiceSettings`, sets its name and port, and adds its domain
settings. The same class is read by the API, the worker, Alembic and the tests, so there is one
source of configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_AUTH_JWKS = ".run/auth/jwks.json"
LOCAL_AUTH_ISSUER = "http://127.0.0.1/collections-local-idp"
LOCAL_AUTH_AUDIENCE = "collections"
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
)
"""Signature algorithms a staff token may use: public-key ones only (never ``none`` or HS*)."""


@dataclass(frozen=True)
class StaffAuthSettings:
    """How staff bearer tokens are verified (DOMAIN.md section 9)."""

    jwks: str
    issuer: str
    audience: str
    roles_claim: str
    algorithms: tuple[str, ...]
    leeway_seconds: int
    jwks_cache_seconds: int


class ServiceSettings(BaseSettings):
    """Configuration common to all services. Environment variable names are the field names."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    service_name: str = "service"
    environment: Literal["local", "test", "production"] = "local"
    log_level: str = "INFO"

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)
    worker_port: int = Field(default=9100, ge=1, le=65535, description="worker's /healthz, /readyz, /metrics")

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/collections"
    database_pool_size: int = Field(default=10, ge=1)

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_topic_prefix: str = Field(
        default="", description="namespace for every topic name, e.g. per test run"
    )
    kafka_consumer_group: str = ""
    consumer_batch_max: int = Field(
        default=500,
        ge=1,
        description="records applied in one transaction at most (they share the batch's fixed costs)",
    )
    consumer_poll_timeout_ms: int = Field(default=200, ge=1)
    kafka_commit_interval_seconds: float = Field(
        default=1.0,
        gt=0,
        description="seconds between two commits of the stored positions into Kafka's offsets"
        " (for lag monitoring; a consumer also commits them when it stops)",
    )
    kafka_session_timeout_ms: int = Field(
        default=10000,
        ge=1,
        description="how long the group's coordinator waits for a silent member (a worker killed or"
        " hung) before its partitions go to the others; the broker bounds it"
        " (group.min.session.timeout.ms, 6000 by default)",
    )
    kafka_heartbeat_interval_ms: int = Field(
        default=3000, ge=1, description="a consumer's heartbeats to its group's coordinator"
    )
    outbox_batch_size: int = Field(default=500, ge=1)
    outbox_poll_interval_ms: int = Field(default=50, ge=1)

    processed_events_keep_hours: int = Field(
        default=14 * 24,
        ge=1,
        description="how long applied event identities are kept: longer than any redelivery can come,"
        " at least the topics' retention (7 days)",
    )
    outbox_published_keep_hours: int = Field(
        default=24, ge=1, description="how long published outbox rows are kept, for diagnosis"
    )
    retention_interval_seconds: int = Field(default=3600, ge=1, description="time between two prunes")

    event_source: str = ""

    auth_jwks_url: str | None = Field(
        default=None,
        description="the identity provider's JWKS: an https:// URL, or a file path (local run, tests); "
        f"local run default {LOCAL_AUTH_JWKS}",
    )
    auth_issuer: str | None = Field(
        default=None, description=f"expected ``iss``; local default {LOCAL_AUTH_ISSUER}"
    )
    auth_audience: str | None = Field(
        default=None, description=f"expected ``aud``; local default {LOCAL_AUTH_AUDIENCE}"
    )
    auth_roles_claim: str = Field(
        default="roles", description="claim holding the roles; dots walk into objects"
    )
    auth_algorithms: tuple[str, ...] = Field(default=("RS256", "ES256"), min_length=1)
    auth_leeway_seconds: int = Field(
        default=30, ge=0, le=300, description="clock skew allowed on exp/nbf/iat"
    )
    auth_jwks_cache_seconds: int = Field(default=300, ge=1, description="how long a fetched JWKS is reused")

    @field_validator("database_url")
    @classmethod
    def _async_postgres(cls, url: str) -> str:
        if not url.startswith("postgresql+asyncpg://"):
            raise ValueError("database_url must be a postgresql+asyncpg:// URL")
        return url

    @field_validator("auth_algorithms")
    @classmethod
    def _asymmetric_algorithms(cls, algorithms: tuple[str, ...]) -> tuple[str, ...]:
        refused = [name for name in algorithms if name not in ASYMMETRIC_ALGORITHMS]
        if refused:
            raise ValueError(f"auth_algorithms must be among {sorted(ASYMMETRIC_ALGORITHMS)}: not {refused}")
        return algorithms

    @model_validator(mode="after")
    def _heartbeats_within_the_session(self) -> Self:
        if self.kafka_heartbeat_interval_ms >= self.kafka_session_timeout_ms:
            raise ValueError("kafka_heartbeat_interval_ms must be below kafka_session_timeout_ms")
        return self

    @property
    def staff_auth(self) -> StaffAuthSettings | None:
        """Where staff tokens are verified; the local run has defaults, elsewhere all three are set."""
        local = self.environment == "local"
        jwks = self.auth_jwks_url or (LOCAL_AUTH_JWKS if local else None)
        issuer = self.auth_issuer or (LOCAL_AUTH_ISSUER if local else None)
        audience = self.auth_audience or (LOCAL_AUTH_AUDIENCE if local else None)
        if jwks is None or issuer is None or audience is None:
            return None
        return StaffAuthSettings(
            jwks=jwks,
            issuer=issuer,
            audience=audience,
            roles_claim=self.auth_roles_claim,
            algorithms=self.auth_algorithms,
            leeway_seconds=self.auth_leeway_seconds,
            jwks_cache_seconds=self.auth_jwks_cache_seconds,
        )

    @property
    def consumer_group(self) -> str:
        return self.kafka_consumer_group or f"collections-{self.service_name}"

    @property
    def source(self) -> str:
        """CloudEvents ``source`` of the events this service emits."""
        return self.event_source or f"collections/{self.service_name}"

    def topic(self, name: str) -> str:
        """The physical Kafka topic for a contract topic name."""
        return f"{self.kafka_topic_prefix}{name}"

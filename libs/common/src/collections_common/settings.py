"""Settings shared by every service, read from environment variables (pydantic-settings).

Each service subclasses :class:`ServiceSettings`, sets its name and port, and adds its domain
settings. The same class is read by the API, the worker, Alembic and the tests, so there is one
source of configuration.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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
        default=2000,
        ge=1,
        description="records applied in one transaction at most (they share the batch's fixed costs)",
    )
    consumer_poll_timeout_ms: int = Field(default=200, ge=1)
    outbox_batch_size: int = Field(default=500, ge=1)
    outbox_poll_interval_ms: int = Field(default=50, ge=1)

    event_source: str = ""

    @field_validator("database_url")
    @classmethod
    def _async_postgres(cls, url: str) -> str:
        if not url.startswith("postgresql+asyncpg://"):
            raise ValueError("database_url must be a postgresql+asyncpg:// URL")
        return url

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

"""Settings of the agency-gateway service (environment variables; see README)."""

from __future__ import annotations

from typing import Self

from pydantic import Field, SecretStr, model_validator

from collections_common.settings import ServiceSettings


class AgencyGatewaySettings(ServiceSettings):
    service_name: str = "agency-gateway"
    http_port: int = 8004
    worker_port: int = 9104

    token_lifetime_seconds: int = Field(default=900, ge=60, le=3600, description="access token lifetime")
    argon2_time_cost: int = Field(default=3, ge=1, description="argon2id passes over memory")
    argon2_memory_kib: int = Field(default=65536, ge=8, description="argon2id memory per hash (KiB)")

    contact_service_url: str = Field(default="http://127.0.0.1:8002", description="the permit API's base URL")
    contact_service_token: SecretStr | None = Field(
        default=None, description="bearer token the gateway presents to the contact service"
    )
    permit_timeout_seconds: float = Field(
        default=2.0, gt=0, le=30, description="past it, a permit request is refused (fail closed)"
    )

    rate_limit_per_second: float = Field(default=20.0, gt=0, description="requests per second per client")
    rate_limit_burst: int = Field(default=40, ge=1, description="requests a client may make at once")
    token_requests_per_minute: int = Field(
        default=10, ge=1, description="token requests per minute per client id (known or not)"
    )
    max_body_bytes: int = Field(default=16 * 1024, ge=1024, description="larger request bodies answer 413")
    request_timeout_seconds: float = Field(default=10.0, gt=0, description="longer requests answer 503")
    api_docs: bool = Field(default=False, description="serve /docs and /openapi.json (off on the internet)")
    history_limit: int = Field(default=20, ge=1, le=200, description="activities shown with a case")

    @model_validator(mode="after")
    def _permits_answer_before_the_request_times_out(self) -> Self:
        if self.permit_timeout_seconds >= self.request_timeout_seconds:
            raise ValueError(
                "permit_timeout_seconds must be below request_timeout_seconds (fail closed, not 503)"
            )
        return self

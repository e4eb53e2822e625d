"""The contact service's permit API (DOMAIN.md section 5), over httpx, failing closed."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from agency_gateway.domain.permits import PermitDecision, fail_closed

log = logging.getLogger(__name__)


class _PermitAnswer(BaseModel):
    permit_id: str
    customer_id: str | None = None
    allowed: bool
    expires_at: datetime | None = None
    rule: str | None = None
    reason: str | None = None
    retry_after: datetime | None = None


class ContactPermits:
    """Asks the contact service for permits; any failure to get a decision in time is a refusal."""

    def __init__(self, client: httpx.AsyncClient, *, timeout_seconds: float) -> None:
        self._client = client
        self._timeout = timeout_seconds

    async def request(self, body: dict[str, Any]) -> PermitDecision:
        try:
            response = await self._client.post("/v1/contact-permits", json=body, timeout=self._timeout)
        except httpx.TimeoutException:
            log.warning("contact service: permit request timed out")
            return fail_closed("the contact service did not answer in time")
        except httpx.HTTPError as exc:
            log.warning("contact service: permit request failed: %s", type(exc).__name__)
            return fail_closed("the contact service could not be reached")
        if response.status_code not in (200, 201):
            log.warning("contact service: permit request answered %s", response.status_code)
            return fail_closed("the contact service could not decide")
        try:
            answer = _PermitAnswer.model_validate_json(response.content)
        except ValidationError:
            log.warning("contact service: permit answer does not match the contract")
            return fail_closed("the contact service could not decide")
        return PermitDecision(
            allowed=answer.allowed,
            permit_id=answer.permit_id,
            customer_id=answer.customer_id,
            expires_at=answer.expires_at,
            rule=answer.rule,
            reason=answer.reason,
            retry_after=answer.retry_after,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

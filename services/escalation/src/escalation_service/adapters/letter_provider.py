"""The letter provider's API (httpx): a rendered demand letter is posted as a PDF for printing
and mailing, under an ``Idempotency-Key`` (the letter id), so a repeated post sends one letter.

Timeouts, connection failures, 429 and 5xx answers are retried with exponential backoff; any
other 4xx is a refusal (``LetterRefused``) that retrying cannot cure.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["LetterProvider", "LetterRefused", "OutgoingLetter", "ProviderUnavailable"]


class LetterRefused(Exception):
    """The provider refused the letter (a 4xx other than 429)."""


class ProviderUnavailable(Exception):
    """The provider did not accept the letter after every retry."""


@dataclass(frozen=True, slots=True)
class OutgoingLetter:
    letter_id: str
    language: str
    recipient_name: str
    recipient_address: Mapping[str, Any]
    pdf: bytes


class LetterProvider:
    def __init__(
        self,
        base_url: str,
        *,
        timeout_seconds: float,
        retries: int,
        backoff_seconds: float,
        token: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=timeout_seconds, headers=headers, transport=transport
        )
        self.retries = retries
        self.backoff_seconds = backoff_seconds

    async def close(self) -> None:
        await self._client.aclose()

    async def send(self, letter: OutgoingLetter) -> str:
        """Posts the letter; returns the provider's reference for it."""
        body = {
            "letter_id": letter.letter_id,
            "language": letter.language,
            "recipient": {"name": letter.recipient_name, "address": dict(letter.recipient_address)},
            "document": {"content_type": "application/pdf", "base64": base64.b64encode(letter.pdf).decode()},
        }
        last = "no attempt"
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self.backoff_seconds * 2 ** (attempt - 1))
            try:
                response = await self._client.post(
                    "/v1/letters", json=body, headers={"Idempotency-Key": letter.letter_id}
                )
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}"
                continue
            if response.status_code == 429 or response.status_code >= 500:
                last = f"HTTP {response.status_code}"
                continue
            if response.status_code >= 400:
                raise LetterRefused(f"HTTP {response.status_code}: {response.text[:200]}")
            reference = response.json().get("id") if response.content else None
            return str(reference or letter.letter_id)
        raise ProviderUnavailable(f"letter provider unavailable after {self.retries + 1} attempts: {last}")

"""Channel providers: SMS, push and IVR over their HTTP APIs (httpx), e-mail over SMTP.

Every send carries an idempotency key: the HTTP providers get it as ``Idempotency-Key`` (a
retry of the same message is answered with the first result, never sent twice) and e-mail as
its ``Message-ID``. A call is retried with exponential backoff on transport errors, timeouts,
429 and 5xx; any other 4xx is final.
"""

from __future__ import annotations

import asyncio
import smtplib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage

import httpx

from contact_service.domain.contact import Channel
from contact_service.metrics import PROVIDER_ERRORS, PROVIDER_SECONDS

__all__ = ["OutboundMessage", "ProviderError", "Providers"]


class ProviderError(Exception):
    """A send that did not go through; ``final`` when trying again cannot help."""

    def __init__(self, reason: str, *, final: bool = False) -> None:
        super().__init__(reason)
        self.final = final


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One message to send."""

    channel: Channel
    to: str
    body: str
    language: str
    idempotency_key: str
    subject: str | None = None


class Providers:
    """Sends a message on its channel."""

    def __init__(
        self,
        *,
        urls: Mapping[Channel, str],
        smtp_host: str,
        smtp_port: int,
        smtp_sender: str,
        timeout_seconds: float,
        retries: int,
        backoff_seconds: float,
    ) -> None:
        self.urls = dict(urls)
        self.smtp = (smtp_host, smtp_port, smtp_sender)
        self.timeout = timeout_seconds
        self.retries = retries
        self.backoff = backoff_seconds
        self.client = httpx.AsyncClient(timeout=timeout_seconds)

    async def close(self) -> None:
        await self.client.aclose()

    async def send(self, message: OutboundMessage) -> None:
        """Send ``message``, retrying with backoff; raises ProviderError when every try failed."""
        last = "no try"
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
            started = time.perf_counter()
            try:
                if message.channel is Channel.EMAIL:
                    await asyncio.to_thread(self._send_mail, message)
                else:
                    await self._post(message)
                return
            except ProviderError as exc:
                PROVIDER_ERRORS.labels(message.channel.value, "final" if exc.final else "rejected").inc()
                if exc.final:
                    raise
                last = str(exc)
            except (httpx.HTTPError, OSError, smtplib.SMTPException) as exc:
                PROVIDER_ERRORS.labels(message.channel.value, "transport").inc()
                last = f"{type(exc).__name__}"
            finally:
                PROVIDER_SECONDS.labels(message.channel.value).observe(time.perf_counter() - started)
        raise ProviderError(last)

    async def _post(self, message: OutboundMessage) -> None:
        url = self.urls.get(message.channel)
        if url is None:
            raise ProviderError("no provider for this channel", final=True)
        response = await self.client.post(
            url,
            json={"to": message.to, "body": message.body, "language": message.language},
            headers={"Idempotency-Key": message.idempotency_key},
        )
        status = response.status_code
        if status < 300:
            return
        final = 400 <= status < 500 and status not in (408, 409, 425, 429)
        raise ProviderError(f"provider answered {status}", final=final)

    def _send_mail(self, message: OutboundMessage) -> None:
        host, port, sender = self.smtp
        mail = EmailMessage()
        mail["From"] = sender
        mail["To"] = message.to
        mail["Subject"] = message.subject or ""
        mail["Message-ID"] = f"<{message.idempotency_key}@contact.collections>"
        mail.set_content(message.body)  # clears Content-* headers: Content-Language comes after
        mail["Content-Language"] = message.language
        with smtplib.SMTP(host, port, timeout=self.timeout) as smtp:
            smtp.send_message(mail)

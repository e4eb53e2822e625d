"""What the sandbox received: every request, and each message or letter once per idempotency key."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["Delivery", "Recorder"]

CHANNELS = ("sms", "push", "ivr", "email", "letter")


@dataclass(frozen=True, slots=True)
class Delivery:
    """One request as received; ``accepted`` is False for one answered with a failure."""

    channel: str
    idempotency_key: str
    to: str
    body: str
    language: str | None
    subject: str | None
    received_at: datetime
    accepted: bool
    duplicate: bool

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data["received_at"] = self.received_at.isoformat()
        return data


@dataclass
class Recorder:
    """Thread-safe record of requests (the SMTP sink runs in a thread of its own).

    ``fail_next`` answers that many of the next requests with a failure; ``down`` answers every
    request with one until it is lifted. ``documents`` keeps each letter's PDF by idempotency key,
    as first accepted.
    """

    requests: list[Delivery] = field(default_factory=list)
    documents: dict[str, bytes] = field(default_factory=dict)
    fail_next: int = 0
    down: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def receive(
        self,
        channel: str,
        key: str,
        to: str,
        body: str,
        language: str | None = None,
        subject: str | None = None,
        document: bytes | None = None,
    ) -> Delivery:
        """Record one request and decide its answer: failed, a duplicate, or accepted as new."""
        with self._lock:
            failing = self.down or self.fail_next > 0
            if not self.down and self.fail_next > 0:
                self.fail_next -= 1
            seen = any(d.accepted and d.idempotency_key == key for d in self.requests)
            delivery = Delivery(
                channel,
                key,
                to,
                body,
                language,
                subject,
                datetime.now(UTC),
                not failing,
                seen and not failing,
            )
            self.requests.append(delivery)
            if document is not None and delivery.accepted and not delivery.duplicate:
                self.documents[key] = document
            return delivery

    def messages(self, channel: str | None = None) -> list[Delivery]:
        """What was delivered: the first accepted request of each idempotency key."""
        with self._lock:
            first: dict[str, Delivery] = {}
            for d in self.requests:
                if d.accepted and d.idempotency_key not in first:
                    first[d.idempotency_key] = d
        return [d for d in first.values() if channel is None or d.channel == channel]

    def document(self, key: str) -> bytes | None:
        """The PDF of the letter delivered under ``key``."""
        with self._lock:
            return self.documents.get(key)

    def control(self, *, fail_next: int | None = None, down: bool | None = None) -> None:
        with self._lock:
            if fail_next is not None:
                self.fail_next = fail_next
            if down is not None:
                self.down = down

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self.documents.clear()
            self.fail_next = 0
            self.down = False

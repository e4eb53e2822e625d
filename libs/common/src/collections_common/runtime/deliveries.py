"""What a consumer hands to a handler: deliveries (one Kafka record each) gathered in a batch."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from collections_common.events import EventData, TypedEvent
from collections_common.runtime.outbox import Header, Outbox


@dataclass(frozen=True)
class Delivery:
    """One consumed record. ``topic`` is the contract name (without any deployment prefix)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp: int = -1
    """Milliseconds since the epoch: the producer's clock, or the broker's (``timestamp_type`` 1)."""
    timestamp_type: int = 0

    @property
    def position(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


@dataclass(frozen=True)
class Incoming:
    """A delivery that decoded into a valid event of the contract."""

    delivery: Delivery
    event: TypedEvent[EventData]

    @property
    def identity(self) -> tuple[str, str]:
        return (self.event.envelope.source, self.event.envelope.id)


@dataclass
class Batch:
    """The new events of one poll, in partition order, and the transaction they are applied in.

    A handler applies ``events``, appends what they cause to ``outbox`` and calls ``reject`` for
    events that are bad input; the runner then dead-letters those and commits everything at once.
    """

    session: AsyncSession
    outbox: Outbox
    events: Sequence[Incoming]
    rejected: dict[int, str] = field(default_factory=dict)

    def reject(self, incoming: Incoming, reason: str) -> None:
        self.rejected[id(incoming)] = reason

    def is_rejected(self, incoming: Incoming) -> bool:
        return id(incoming) in self.rejected


MAX_DEAD_LETTER_VALUE = 256 * 1024
"""Bytes of a record's value a dead letter keeps; the rest is cut (see ``dead_letter``)."""

MAX_DEAD_LETTER_KEY = 1024
"""Bytes of a record's key a dead letter keeps."""

MAX_DEAD_LETTER_HEADERS = 64 * 1024
"""Bytes of a record's own headers (names and values) a dead letter keeps, in order."""

MAX_REASON = 1000
"""Characters of a reason a dead letter keeps."""


def dead_letter(outbox: Outbox, delivery: Delivery, reason: str, *, consumer: str) -> None:
    """Send ``delivery`` to ``<topic>.dlq`` (through the outbox) with headers naming the reason.

    Whatever the record holds, its dead letter fits in one Kafka request: a value or key longer
    than its bound is cut to it, and ``dlq-value-truncated`` (or ``dlq-key-truncated``) then gives
    the original size and SHA-256, so the record can be found again; the record's own headers are
    kept byte for byte up to ``MAX_DEAD_LETTER_HEADERS`` in all (``dlq-headers-dropped`` counts
    the rest).
    """
    headers: list[Header] = []
    budget = MAX_DEAD_LETTER_HEADERS
    dropped = 0
    for name, value in delivery.headers:
        if name.startswith("dlq-"):
            continue
        size = len(name) + len(value)
        if size > budget:
            dropped += 1
            continue
        budget -= size
        headers.append((name, value))
    value, value_note = _cut(delivery.value, MAX_DEAD_LETTER_VALUE)
    key, key_note = _cut(delivery.key, MAX_DEAD_LETTER_KEY) if delivery.key is not None else (None, None)
    notes: list[tuple[str, str]] = [
        ("dlq-reason", reason[:MAX_REASON]),
        ("dlq-source-topic", delivery.topic),
        ("dlq-source-partition", str(delivery.partition)),
        ("dlq-source-offset", str(delivery.offset)),
        ("dlq-failed-at", datetime.now(UTC).isoformat()),
        ("dlq-consumer", consumer),
    ]
    if value_note:
        notes.append(("dlq-value-truncated", value_note))
    if key_note:
        notes.append(("dlq-key-truncated", key_note))
    if dropped:
        notes.append(("dlq-headers-dropped", str(dropped)))
    headers += [(name, text.encode()) for name, text in notes]
    outbox.add_raw(f"{delivery.topic}.dlq", key, value, headers, None)


def _cut(data: bytes, limit: int) -> tuple[bytes, str | None]:
    """``data`` cut to ``limit`` bytes, and, if it was cut, ``size=<n> sha256=<hex>`` of the whole."""
    if len(data) <= limit:
        return data, None
    return data[:limit], f"size={len(data)} sha256={hashlib.sha256(data).hexdigest()}"

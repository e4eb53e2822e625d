"""Dead letters: a message that can never be applied goes to ``<topic>.dlq`` through the outbox,
with headers naming why and where it came from."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from collections_common.events import CloudEvent, InvalidEvent, decode
from collections_common.logs import event_log_context
from collections_common.runtime.deliveries import Delivery
from collections_common.runtime.outbox import Header, Outbox

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rejection:
    """A message going to the dead-letter topic, with its envelope when it has a valid one."""

    delivery: Delivery
    reason: str
    envelope: CloudEvent | None

    @classmethod
    def of(cls, delivery: Delivery, reason: str) -> Rejection:
        """A rejection of ``delivery`` with the envelope it decodes to, if any."""
        return cls(delivery, reason, envelope_of(delivery))


def envelope_of(delivery: Delivery) -> CloudEvent | None:
    """The envelope ``delivery`` decodes to, or None."""
    try:
        return decode(delivery.value)
    except InvalidEvent:
        return None


def send_dead_letters(outbox: Outbox, rejections: Iterable[Rejection], *, consumer: str) -> None:
    """Log each rejection and append its dead letter to ``outbox``."""
    for item in rejections:
        delivery = item.delivery
        with event_log_context(
            topic=delivery.topic,
            partition=delivery.partition,
            offset=delivery.offset,
            event_id=item.envelope.id if item.envelope else None,
        ):
            log.warning("dead letter: %s", item.reason)
        dead_letter(outbox, delivery, item.reason, consumer=consumer)


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

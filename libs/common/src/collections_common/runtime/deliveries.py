"""What a consumer hands to a handler: deliveries (one Kafka record each) gathered in a batch."""

from __future__ import annotations

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


def dead_letter(outbox: Outbox, delivery: Delivery, reason: str, *, consumer: str) -> None:
    """Send ``delivery`` to ``<topic>.dlq`` (through the outbox) with headers naming the reason."""
    headers: list[Header] = [
        (name, value.decode("utf-8", "replace"))
        for name, value in delivery.headers
        if not name.startswith("dlq-")
    ]
    headers += [
        ("dlq-reason", reason[:1000]),
        ("dlq-source-topic", delivery.topic),
        ("dlq-source-partition", str(delivery.partition)),
        ("dlq-source-offset", str(delivery.offset)),
        ("dlq-failed-at", datetime.now(UTC).isoformat()),
        ("dlq-consumer", consumer),
    ]
    outbox.add_raw(f"{delivery.topic}.dlq", delivery.key, delivery.value, headers, None)

"""What a consumer hands to a handler: deliveries (one Kafka record each) gathered in a batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from collections_common.events import EventData, TypedEvent
from collections_common.runtime.outbox import Outbox


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
        """Where the record stands in the log, unique per record: ``topic[partition]@offset``."""
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
    rejected: dict[str, str] = field(default_factory=dict)
    """Reasons of the rejected events, by their delivery's position (``topic[partition]@offset``)."""

    def reject(self, incoming: Incoming, reason: str) -> None:
        self.rejected[incoming.delivery.position] = reason

    def is_rejected(self, incoming: Incoming) -> bool:
        return incoming.delivery.position in self.rejected

    def rejection_of(self, incoming: Incoming) -> str | None:
        """Why ``incoming`` was rejected, or None when it was not."""
        return self.rejected.get(incoming.delivery.position)

"""The event runtime: consumer runner, transactional outbox, dead letters, crash points."""

from collections_common.runtime.deliveries import Batch, Delivery, Incoming, dead_letter
from collections_common.runtime.dispatch import EventHandler, per_event
from collections_common.runtime.errors import BadInput, is_transient
from collections_common.runtime.faults import crash_point
from collections_common.runtime.outbox import Outbox, OutboxRelay
from collections_common.runtime.runner import BatchHandler, ConsumerRunner, Gate, stored_positions
from collections_common.runtime.tables import RUNTIME_METADATA

__all__ = [
    "RUNTIME_METADATA",
    "BadInput",
    "Batch",
    "BatchHandler",
    "ConsumerRunner",
    "Delivery",
    "EventHandler",
    "Gate",
    "Incoming",
    "Outbox",
    "OutboxRelay",
    "crash_point",
    "dead_letter",
    "is_transient",
    "per_event",
    "stored_positions",
]

"""The event runtime: consumer runner, transactional outbox, dead letters, crash points.

Modules, one idea each: ``runner`` (the poll loop), ``deliveries`` (what a handler gets),
``dispatch`` (one handler per event type), ``claims`` (identities applied), ``positions``
(stored, fenced offsets), ``holding`` (the gate and the records it holds), ``dead_letters``,
``offsets`` (Kafka's committed offsets, for monitoring), ``consumer_metrics``, ``retry``,
``errors`` (the one error tree), ``outbox`` (and its relay), ``retention`` (pruning what the
runtime keeps), ``kafka`` (clients), ``faults`` (crash and delay points for tests),
``gc_tuning`` (a worker's garbage collector).
"""

from collections_common.runtime._aio import every, sleep_or_stop
from collections_common.runtime.dead_letters import MAX_DEAD_LETTER_VALUE, dead_letter
from collections_common.runtime.deliveries import Batch, Delivery, Incoming
from collections_common.runtime.dispatch import EventHandler, per_event
from collections_common.runtime.errors import (
    Abandoned,
    BadInput,
    EventRuntimeError,
    GateFailed,
    RunnerControl,
    StalePosition,
    is_transient,
)
from collections_common.runtime.faults import crash_point, delay_point
from collections_common.runtime.holding import Gate, Step, SteppingGate
from collections_common.runtime.kafka import partitions_of
from collections_common.runtime.outbox import Outbox, OutboxRelay
from collections_common.runtime.positions import stored_positions
from collections_common.runtime.retention import RetentionPruner
from collections_common.runtime.runner import BatchHandler, ConsumerRunner
from collections_common.runtime.tables import RUNTIME_METADATA

__all__ = [
    "MAX_DEAD_LETTER_VALUE",
    "RUNTIME_METADATA",
    "Abandoned",
    "BadInput",
    "Batch",
    "BatchHandler",
    "ConsumerRunner",
    "Delivery",
    "EventHandler",
    "EventRuntimeError",
    "Gate",
    "GateFailed",
    "Incoming",
    "Outbox",
    "OutboxRelay",
    "RetentionPruner",
    "RunnerControl",
    "StalePosition",
    "Step",
    "SteppingGate",
    "crash_point",
    "dead_letter",
    "delay_point",
    "every",
    "is_transient",
    "partitions_of",
    "per_event",
    "sleep_or_stop",
    "stored_positions",
]

"""What a consumer reports of each batch: events applied, dead-lettered, duplicate; its lag."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition

from collections_common.metrics import (
    CONSUMER_LAG,
    DEAD_LETTERS,
    EVENTS_DUPLICATE,
    EVENTS_FAILED,
    EVENTS_HANDLED,
)
from collections_common.runtime.dead_letters import Rejection


def count_batch(
    consumer: str,
    applied: Mapping[tuple[str, str], int],
    rejected: Sequence[Rejection],
    duplicates: int,
    topic: str,
) -> None:
    """Count a committed batch: one labelled increment per kind of event applied (``applied``:
    how many of each topic and type)."""
    for (handled_topic, event_type), count in applied.items():
        EVENTS_HANDLED.labels(consumer, handled_topic, event_type).inc(count)
    for item in rejected:
        kind = item.reason.split(":", 1)[0][:40]
        DEAD_LETTERS.labels(consumer, item.delivery.topic, kind).inc()
        event_type = item.envelope.type if item.envelope else "undecodable"
        EVENTS_FAILED.labels(consumer, item.delivery.topic, event_type).inc()
    if duplicates:
        EVENTS_DUPLICATE.labels(consumer, topic).inc(duplicates)


def report_lag(
    name: str,
    consumer: AIOKafkaConsumer | None,
    positions: Mapping[TopicPartition, int],
    logical: Callable[[str], str],
) -> None:
    """Set each assigned partition's lag: its end offset minus the stored position."""
    if consumer is None:
        return
    for tp in consumer.assignment():
        end = consumer.highwater(tp)
        position = positions.get(tp)
        if end is not None and position is not None:
            CONSUMER_LAG.labels(name, logical(tp.topic), str(tp.partition)).set(max(0, end - position))

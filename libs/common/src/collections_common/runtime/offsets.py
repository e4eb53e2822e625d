"""Mirroring the stored positions into Kafka's committed offsets, for lag monitoring only."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition

log = logging.getLogger(__name__)

KAFKA_COMMIT_INTERVAL = 1.0
"""Seconds between two mirrors of the stored positions into Kafka's committed offsets."""


class OffsetMirror:
    """Commits the positions to Kafka at most once per ``KAFKA_COMMIT_INTERVAL`` (a round trip to
    the broker per batch would cost the batch loop more than monitoring gains), and on stop.

    Correctness never depends on it: the runner seeks to the positions stored in the database.
    """

    def __init__(self, interval: float = KAFKA_COMMIT_INTERVAL) -> None:
        self._interval = interval
        self._committed_at = 0.0  # monotonic time of the last mirror

    async def mirror(
        self,
        consumer: AIOKafkaConsumer | None,
        positions: Mapping[TopicPartition, int],
        *,
        force: bool = False,
    ) -> None:
        if consumer is None:
            return
        now = time.monotonic()
        if not force and now - self._committed_at < self._interval:
            return
        self._committed_at = now
        assigned = consumer.assignment()
        offsets = {tp: offset for tp, offset in positions.items() if tp in assigned}
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except Exception as exc:  # noqa: BLE001 - never affects correctness
            log.debug("kafka offset commit skipped: %s", exc)

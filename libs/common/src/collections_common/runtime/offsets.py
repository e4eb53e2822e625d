"""Mirroring the stored positions into Kafka's committed offsets, for lag monitoring only."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition

log = logging.getLogger(__name__)

KAFKA_COMMIT_TIMEOUT = 0.5
"""The longest a mirror waits for the broker; then it stops waiting. aiokafka's commit waits for
a group coordinator without end, and a broker that is gone must hold up neither the batch loop nor
a stop. A healthy broker answers in milliseconds; a request already sent is not withdrawn (aiokafka
shields it from the cancellation)."""


class OffsetMirror:
    """Commits the positions to Kafka at most once per ``interval`` seconds (a round trip to the
    broker per batch would cost the batch loop more than monitoring gains), when they moved, and
    on stop; each commit waited for ``KAFKA_COMMIT_TIMEOUT`` at most.

    Correctness never depends on it: the runner seeks to the positions stored in the database.
    """

    def __init__(self, interval: float, timeout: float = KAFKA_COMMIT_TIMEOUT) -> None:
        self._interval = interval
        self._timeout = timeout
        self._committed_at = 0.0  # monotonic time of the last mirror
        self._committed: dict[TopicPartition, int] = {}  # what the last mirror committed

    async def mirror(
        self,
        consumer: AIOKafkaConsumer | None,
        positions: Mapping[TopicPartition, int],
        *,
        force: bool = False,
    ) -> bool:
        """Commit ``positions`` of the partitions assigned; False when a commit was due and
        failed or was not done within the timeout."""
        if consumer is None:
            return True
        now = time.monotonic()
        if not force and now - self._committed_at < self._interval:
            return True
        assigned = consumer.assignment()
        offsets = {tp: offset for tp, offset in positions.items() if tp in assigned}
        if not offsets or offsets == self._committed:
            return True
        self._committed_at = now
        try:
            await asyncio.wait_for(consumer.commit(offsets), self._timeout)
        except Exception as exc:  # noqa: BLE001 - never affects correctness
            log.debug("kafka offset commit skipped: %r", exc)
            return False
        self._committed = offsets
        return True

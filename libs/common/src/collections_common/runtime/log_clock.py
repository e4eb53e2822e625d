"""Where a moment stands in a topic's log, for topics stamped by the broker (``LogAppendTime``).

A record appended before a moment ``T`` of the broker's clock carries a timestamp at or below
``T``; one appended after it, a timestamp above. So "what was published before ``T``" is a prefix
of every partition, found from the log itself however late anyone asks.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from collections_common.runtime.errors import EventRuntimeError
from collections_common.runtime.kafka import partitions_of
from collections_common.settings import ServiceSettings

__all__ = ["LOG_APPEND_TIME", "LogClock", "LogTimeMisconfigured"]

LOG_APPEND_TIME = 1
"""Kafka's timestamp type of a record stamped by the broker (``message.timestamp.type=LogAppendTime``)."""


class LogTimeMisconfigured(EventRuntimeError):
    """A topic read by log time does not stamp records with the broker's append time."""


class LogClock:
    """A consumer without a group, started on first use, for offset look-ups by time."""

    def __init__(self, settings: ServiceSettings) -> None:
        self._settings = settings
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: dict[str, list[TopicPartition]] = {}

    async def _client(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._settings.kafka_bootstrap_servers, enable_auto_commit=False
            )
            await consumer.start()
            self._consumer = consumer
        return self._consumer

    async def partitions(self, topic: str) -> list[TopicPartition]:
        """The partitions of a logical topic (partition counts are fixed while the service runs)."""
        if topic not in self._partitions:
            physical = self._settings.topic(topic)
            self._partitions[topic] = [
                TopicPartition(physical, p) for p in await partitions_of(self._settings, physical)
            ]
        return self._partitions[topic]

    async def published_by(self, topic: str, timestamp_ms: int) -> dict[int, int]:
        """Per partition of ``topic``, the offset below which every record is stamped at or before
        ``timestamp_ms``: the first record stamped after it, or the partition's end.

        Call it once the broker's clock has passed ``timestamp_ms``. The ends are looked up first:
        whatever is appended after that look-up is stamped later still. Looked up the other way
        round, a record appended between the two look-ups would sit below the end and pass for
        one published by ``timestamp_ms``.
        """
        partitions = await self.partitions(topic)
        client = await self._client()
        ends = await client.end_offsets(partitions)
        after = await client.offsets_for_times({tp: timestamp_ms + 1 for tp in partitions})
        return {
            tp.partition: ends[tp] if after[tp] is None else min(after[tp].offset, ends[tp])
            for tp in partitions
        }

    async def check_log_append_time(self, topics: Iterable[str]) -> None:
        """Refuse to run when a topic is not stamped by the broker."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self._settings.kafka_bootstrap_servers)
        await admin.start()
        try:
            names = [self._settings.topic(topic) for topic in topics]
            described = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
            )
        finally:
            await admin.close()
        for response in described:
            for error_code, _, _, name, entries in response.resources:
                if error_code:
                    raise LogTimeMisconfigured(f"topic {name} cannot be described (Kafka error {error_code})")
                configs = {entry[0]: entry[1] for entry in entries}
                if configs.get("message.timestamp.type") != "LogAppendTime":
                    raise LogTimeMisconfigured(
                        f"topic {name} must have message.timestamp.type=LogAppendTime (deploy/topics.yaml)"
                    )

    async def stop(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()

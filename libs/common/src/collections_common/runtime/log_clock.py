"""Where a moment stands in a topic's log, for topics stamped by the broker (``LogAppendTime``).

A record appended before a moment ``T`` of the broker's clock carries a timestamp at or below
``T``; one appended after it, a timestamp above. So "what was published before ``T``" is a prefix
of every partition, found from the log itself however late anyone asks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.structs import ConsumerRecord

from collections_common.runtime.errors import EventRuntimeError
from collections_common.runtime.kafka import partitions_of, stop_consumer
from collections_common.settings import ServiceSettings

__all__ = ["LOG_APPEND_TIME", "LogClock", "LogTimeMisconfigured"]

LOG_APPEND_TIME = 1
"""Kafka's timestamp type of a record stamped by the broker (``message.timestamp.type=LogAppendTime``)."""


class LogTimeMisconfigured(EventRuntimeError):
    """A topic read by log time does not stamp records with the broker's append time."""


class LogClock:
    """A consumer without a group, started on first use, for offset look-ups and short reads."""

    def __init__(self, settings: ServiceSettings) -> None:
        self._settings = settings
        self._consumer: AIOKafkaConsumer | None = None
        self._starting = asyncio.Lock()
        self._partitions: dict[str, list[TopicPartition]] = {}

    async def client(self) -> AIOKafkaConsumer:
        async with self._starting:  # one client, however many callers come before it has started
            if self._consumer is None:
                consumer = AIOKafkaConsumer(
                    bootstrap_servers=self._settings.kafka_bootstrap_servers,
                    enable_auto_commit=False,
                    fetch_max_wait_ms=10,  # reads ask for records that are there: no long polls
                )
                try:
                    await consumer.start()
                except BaseException:
                    await stop_consumer(consumer)
                    raise
                self._consumer = consumer
            return self._consumer

    async def prepare(self, topics: Iterable[str]) -> None:
        """Start the client and learn the partitions of ``topics`` ahead of the first look-up."""
        await self.client()
        for topic in topics:
            await self.partitions(topic)

    async def partitions(self, topic: str) -> list[TopicPartition]:
        """The partitions of a logical topic (partition counts are fixed while the service runs);
        the client then holds the topic's metadata (see :meth:`_track`)."""
        if topic not in self._partitions:
            physical = self._settings.topic(topic)
            found = [TopicPartition(physical, p) for p in await partitions_of(self._settings, physical)]
            await self._track(physical)
            self._partitions[topic] = found
        return self._partitions[topic]

    async def _track(self, physical: str) -> None:
        """Fetch the metadata of ``physical`` into the client now. aiokafka's client starts with
        no topic's metadata, and its first offset look-up of a topic it does not know fails,
        fetches the topic's metadata and is tried again only ``retry_backoff_ms`` (100 ms) later:
        the barriers' first look-up of billing and payments waited 200 ms for it, while a
        catch-up held every billing and payment record (docs/benchmarks.md)."""
        client = await self.client()
        await client._client.add_topic(physical)  # aiokafka has no public call for this

    async def end_offsets(self, topics: Iterable[str]) -> dict[tuple[str, int], int]:
        """The end offset of every partition of the logical ``topics``, by (topic, partition)."""
        partitions = [tp for topic in topics for tp in await self.partitions(topic)]
        ends = await (await self.client()).end_offsets(partitions)
        return {(self._logical(tp.topic), tp.partition): end for tp, end in ends.items()}

    async def first_at_or_after(
        self, partitions: Sequence[TopicPartition], timestamp_ms: int
    ) -> dict[TopicPartition, int | None]:
        """Per partition, the first offset stamped at or after ``timestamp_ms`` (None: no such record yet)."""
        found = await self.first_stamped_at_or_after(partitions, timestamp_ms)
        return {tp: (None if hit is None else hit[0]) for tp, hit in found.items()}

    async def first_stamped_at_or_after(
        self, partitions: Sequence[TopicPartition], timestamp_ms: int
    ) -> dict[TopicPartition, tuple[int, int | None] | None]:
        """Per partition, the offset and timestamp of the first record stamped at or after
        ``timestamp_ms`` (None: no such record yet; the timestamp is None from a broker too old
        to give it)."""
        found = await (await self.client()).offsets_for_times({tp: max(0, timestamp_ms) for tp in partitions})
        return {tp: (None if hit is None else (hit.offset, hit.timestamp)) for tp, hit in found.items()}

    async def read(self, tp: TopicPartition, start: int, stop: int) -> list[ConsumerRecord[bytes, bytes]]:
        """The records of ``tp`` from offset ``start`` up to (not including) ``stop``."""
        consumer = await self.client()
        consumer.assign([tp])
        consumer.seek(tp, start)
        records: list[ConsumerRecord[bytes, bytes]] = []
        try:
            while await consumer.position(tp) < stop:
                fetched = await consumer.getmany(tp, timeout_ms=1000)
                records.extend(r for r in fetched.get(tp, []) if r.offset < stop)
        finally:
            consumer.unsubscribe()  # no fetch left in flight to delay the next offset look-up
        return records

    async def published_by(self, topic: str, timestamp_ms: int) -> dict[int, int]:
        """Per partition of ``topic``, the offset below which every record is stamped at or before
        ``timestamp_ms``: the first record stamped after it, or the partition's end.

        Call it once the broker's clock has passed ``timestamp_ms``. The ends are looked up first:
        whatever is appended after that look-up is stamped later still. Looked up the other way
        round, a record appended between the two look-ups would sit below the end and pass for
        one published by ``timestamp_ms``.
        """
        partitions = await self.partitions(topic)
        ends = await self.end_offsets((topic,))
        after = await self.first_at_or_after(partitions, timestamp_ms + 1)
        found: dict[int, int] = {}
        for tp in partitions:
            end, first_after = ends[(topic, tp.partition)], after[tp]
            found[tp.partition] = end if first_after is None else min(first_after, end)
        return found

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
            await stop_consumer(consumer)

    def _logical(self, physical: str) -> str:
        return physical.removeprefix(self._settings.kafka_topic_prefix)

"""Kafka clients configured once for every service: idempotent producers, manual-commit consumers."""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.assignors.range import RangePartitionAssignor

from collections_common.runtime import records
from collections_common.settings import ServiceSettings

records.install()  # no record's header bytes can make a fetch fail (see records.py)

log = logging.getLogger(__name__)


async def new_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    """An idempotent producer (``acks=all``): retries never reorder or duplicate within a partition."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"{settings.service_name}-producer",
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
        request_timeout_ms=30000,
    )
    await producer.start()
    return producer


def new_consumer(settings: ServiceSettings, *, group: bool = True) -> AIOKafkaConsumer:
    """A consumer that never commits by itself and co-partitions equally sized topics.

    The range assignor hands partition N of every subscribed topic to the same member, so one
    account's billing and payments (same key, same partition number) are handled in one place.
    """
    return AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"{settings.service_name}-consumer",
        group_id=settings.consumer_group if group else None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        partition_assignment_strategy=(RangePartitionAssignor,),
        max_poll_records=settings.consumer_batch_max,
        fetch_max_wait_ms=100,
        fetch_max_bytes=16 * 1024 * 1024,
        max_partition_fetch_bytes=4 * 1024 * 1024,
        session_timeout_ms=10000,
        heartbeat_interval_ms=3000,
    )


async def stop_consumer(consumer: AIOKafkaConsumer) -> None:
    """``consumer.stop()``, without the ``CancelledError`` aiokafka raises from it when a fetch is
    waiting to retry (a broker gone): its fetcher cancels that fetch and awaits it
    (aio-libs/aiokafka#647). The consumer's connections then close with the process. A
    cancellation of the caller's own task is raised as usual."""
    try:
        await consumer.stop()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        log.debug("kafka consumer stopped with a fetch cancelled")


async def partitions_of(settings: ServiceSettings, topic: str) -> list[int]:
    """The partition numbers of a physical topic (raises LookupError when it does not exist)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if not described or described[0].get("error_code") or not described[0].get("partitions"):
        raise LookupError(f"no topic {topic}")
    return sorted(int(p["partition"]) for p in described[0]["partitions"])

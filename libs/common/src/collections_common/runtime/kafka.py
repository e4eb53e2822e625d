"""Kafka clients configured once for every service: idempotent producers, manual-commit consumers."""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.assignors.range import RangePartitionAssignor

from collections_common.runtime import records
from collections_common.runtime._aio import STOP_GRACE_SECONDS
from collections_common.settings import ServiceSettings

records.install()  # no record's header bytes can make a fetch fail (see records.py)

log = logging.getLogger(__name__)


async def new_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    """An idempotent producer (``acks=all``): retries never reorder or duplicate within a partition.

    It sends what it holds as soon as it can (``linger_ms=0``): the outbox relay appends its whole
    batch before it waits for the acknowledgements (aiokafka's ``send`` suspends only on a full
    buffer), and the replay sends one record at a time, so lingering would only delay each send."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"{settings.service_name}-producer",
        enable_idempotence=True,
        acks="all",
        linger_ms=0,
        max_batch_size=256 * 1024,
        request_timeout_ms=30000,
    )
    await producer.start()
    return producer


REBALANCE_TIMEOUT_MS = 10000
"""How long a rebalance waits for a live member to rejoin (it first finishes its batch in hand,
``runner._Rebalance``); aiokafka's default is the session timeout, which tests shorten."""


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
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=settings.kafka_heartbeat_interval_ms,
        rebalance_timeout_ms=REBALANCE_TIMEOUT_MS,
    )


CONSUMER_STOP_SECONDS = 3.0
"""Seconds ``stop_consumer`` waits for ``consumer.stop()``, which leaves the group (so the other
members take over its partitions at once) and waits for the broker's answer. A healthy broker
answers in milliseconds; a frozen one (its host hung, its connections open) never does, and the
request would wait for its 40 s timeout."""


async def stop_consumer(consumer: AIOKafkaConsumer, *, timeout: float = CONSUMER_STOP_SECONDS) -> None:
    """``consumer.stop()`` for at most ``timeout`` seconds, then given up: the consumer's
    connections close with the process, and the group's coordinator drops the member after its
    session timeout. Without the ``CancelledError`` aiokafka raises from it when a fetch is
    waiting to retry (a broker gone): its fetcher cancels that fetch and awaits it
    (aio-libs/aiokafka#647). A cancellation of the caller's own task is raised as usual."""
    stopping = asyncio.ensure_future(consumer.stop())
    try:
        await asyncio.wait([stopping], timeout=timeout)
    finally:
        if not stopping.done():
            stopping.cancel()
            log.warning(
                "kafka consumer not stopped within %.0f s (the broker does not answer); its"
                " connections close with the process",
                timeout,
            )
            await asyncio.wait([stopping], timeout=STOP_GRACE_SECONDS)
    if stopping.cancelled():
        log.debug("kafka consumer stopped with a fetch cancelled")
    elif stopping.done() and (error := stopping.exception()) is not None:
        raise error


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

"""Publishing business days to Kafka, as core banking does: the day's events, then (once the
broker has acknowledged every one of them) the day's close, then (once the close is acknowledged)
the next day's events. Nothing waits for any consumer.

`publish` takes any `Producer` (aiokafka's `AIOKafkaProducer` is one); `kafka_producer` makes the
idempotent one (`acks=all`) the command uses.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from collections_common.events import encode

from .generator import BusinessDay, Outgoing

__all__ = ["Pacer", "Producer", "PublishFailed", "Published", "kafka_producer", "publish"]


class PublishFailed(Exception):
    """The broker did not take an event (the cause is the Kafka client's error)."""


class Producer(Protocol):
    """What `publish` needs of a producer: `send` enqueues and returns the broker's ack to await."""

    async def send(self, topic: str, value: bytes, key: bytes) -> Awaitable[Any]: ...


class Pacer:
    """Spaces calls to `wait` at most `rate` per second (no limit when `rate` is None).

    A pacer that fell behind does not burst to catch up."""

    def __init__(
        self,
        rate: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive")
        self._interval = None if rate is None else 1.0 / rate
        self._clock, self._sleep = clock, sleep
        self._next: float | None = None

    async def wait(self) -> None:
        if self._interval is None:
            return
        now = self._clock()
        if self._next is not None and self._next > now:
            await self._sleep(self._next - now)
            now = self._next
        self._next = now + self._interval


@dataclass
class Published:
    """What went out: business days closed and events (closes included)."""

    days: int = 0
    events: int = 0


async def publish(
    days: Iterable[BusinessDay],
    producer: Producer,
    *,
    topic_prefix: str = "",
    pacer: Pacer | None = None,
    on_closed: Callable[[BusinessDay], Awaitable[None] | None] | None = None,
) -> Published:
    """Publish each day's events, await all their acks, publish its close, await its ack, call
    `on_closed(day)`, go on with the next day. Raises `PublishFailed` if the broker refuses."""
    pacer = pacer or Pacer(None)
    published = Published()
    try:
        for day in days:
            acks = []
            for outgoing in day.events:
                await pacer.wait()
                acks.append(await _send(producer, topic_prefix, outgoing))
            await asyncio.gather(*acks)
            await pacer.wait()
            await (await _send(producer, topic_prefix, day.close))
            published.days += 1
            published.events += len(day.events) + 1
            if on_closed is not None and (noted := on_closed(day)) is not None:
                await noted
    except KafkaError as exc:
        raise PublishFailed(f"the broker refused an event: {exc}") from exc
    return published


async def _send(producer: Producer, prefix: str, outgoing: Outgoing) -> Awaitable[Any]:
    return await producer.send(prefix + outgoing.topic, encode(outgoing.event), outgoing.key.encode())


def kafka_producer(bootstrap_servers: str) -> Any:
    """An idempotent producer that waits for every in-sync replica (`acks=all`); not started."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers, enable_idempotence=True, acks="all", linger_ms=5
    )

"""The local broker's CPU per message on the services' shape of traffic, round after round.

A producer paced like the cancellation benchmark's (one message per wait, ``linger_ms=5``,
idempotent) publishes ``--messages`` at ``--rate`` to a topic of six partitions; a consumer
relays each fetched batch to a second topic with its own producer (as aging does to the
contact service) and a last consumer reads that one. Each round uses new topics on the same
broker, so later rounds show the broker as its JIT compilers have left it.

    .venv/bin/python -m benchmarks.broker_relay --rounds 6
    .venv/bin/python -m benchmarks.broker_relay --rounds 6 --c2   # the JVM's default compilers
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from benchmarks._infra import benchmark_stack, cpu_seconds
from devstack import kafka

PARTITIONS = 6
PAYLOAD = b"x" * 400  # about the size of a payment event


async def publish(bootstrap: str, topic: str, messages: int, rate: float) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        started = time.monotonic()
        acks = []
        for n in range(messages):
            delay = started + n / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            acks.append(await producer.send(topic, value=PAYLOAD, key=f"k{n}".encode()))
        await asyncio.gather(*acks)
    finally:
        await producer.stop()


async def consume(bootstrap: str, topic: str, messages: int, group: str, relay_to: str | None) -> None:
    """Read ``messages`` from ``topic``, sending each batch on to ``relay_to`` (if given) and
    committing offsets at most once a second, as the services' runner does."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=100,
        max_poll_records=500,
    )
    producer = (
        AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=5, acks="all")
        if relay_to
        else None
    )
    await consumer.start()
    if producer is not None:
        await producer.start()
    try:
        seen, committed = 0, 0.0
        while seen < messages:
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                seen += len(records)
                if producer is not None and relay_to is not None:
                    sent = [await producer.send(relay_to, value=r.value, key=r.key) for r in records]
                    await asyncio.gather(*sent)
            if batch and time.monotonic() - committed > 1.0:
                await consumer.commit()
                committed = time.monotonic()
    finally:
        await consumer.stop()
        if producer is not None:
            await producer.stop()


async def one_round(bootstrap: str, broker_pid: int, name: str, args: argparse.Namespace) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(f"{name}.{t}", PARTITIONS, 1) for t in ("in", "out")])
    finally:
        await admin.close()
    readers = asyncio.gather(
        consume(bootstrap, f"{name}.in", args.messages, f"{name}-relay", f"{name}.out"),
        consume(bootstrap, f"{name}.out", args.messages, f"{name}-last", None),
    )
    await asyncio.sleep(2.0)  # both groups joined and polling
    cpu, wall = cpu_seconds(broker_pid), time.monotonic()
    await publish(bootstrap, f"{name}.in", args.messages, args.rate)
    await readers
    cpu, wall = cpu_seconds(broker_pid) - cpu, time.monotonic() - wall
    print(
        f"{name}: broker {cpu:.2f} s of CPU over {wall:.1f} s, "
        f"{cpu / args.messages * 1000:.3f} ms per message (load average {os.getloadavg()[0]:.1f})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--messages", type=int, default=5000, help="per round")
    parser.add_argument("--rate", type=float, default=1000.0, help="messages a second")
    parser.add_argument("--c2", action="store_true", help="start the broker with the JVM's default compilers")
    args = parser.parse_args()
    if args.c2:
        kafka.JIT_OPTIONS = ()
    print(f"broker JIT options: {' '.join(kafka.JIT_OPTIONS) or '(the JVM defaults)'}")
    with benchmark_stack() as stack:
        broker = stack.broker.pid if stack.broker else None
        assert broker is not None, "the benchmark starts its own broker"
        for n in range(args.rounds):
            asyncio.run(one_round(stack.bootstrap_servers, broker, f"round{n + 1}", args))


if __name__ == "__main__":
    main()

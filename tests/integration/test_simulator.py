"""The core-banking simulator through the real broker: each close lands after its day's events."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import uuid
from collections import Counter
from datetime import date
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from collections_common.events import Topics
from corebank_simulator import BusinessDay, SimulationOptions, kafka_producer, publish, simulate
from devstack._process import venv_script
from devstack.stack import Stack

pytestmark = pytest.mark.infra

KEYED = (Topics.ACCOUNTS, Topics.BILLING, Topics.PAYMENTS)
ALL = (*KEYED, Topics.CALENDAR)
OPTIONS = SimulationOptions(15, 25, date(2026, 1, 5), seed=5, calendar="daily")


async def read_back(stack: Stack, prefix: str, expected: int) -> list[Any]:
    """Every record of the four core banking topics under `prefix` (waits for `expected`)."""
    consumer = AIOKafkaConsumer(
        *[prefix + topic for topic in ALL],
        bootstrap_servers=stack.bootstrap_servers,
        group_id=f"read-{uuid.uuid4()}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    records: list[Any] = []
    try:
        for _ in range(60):
            batch = await consumer.getmany(timeout_ms=500)
            records += [record for part in batch.values() for record in part]
            if len(records) >= expected:
                break
    finally:
        await consumer.stop()
    return records


class TestSimulatorOnTheBroker:
    async def test_each_close_is_appended_after_every_event_of_its_day_and_before_the_next_days(
        self, stack: Stack, topics: str
    ) -> None:
        days = list(simulate(OPTIONS))
        probe = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap_servers)
        await probe.start()
        partitions = [
            TopicPartition(topics + topic, p)
            for topic in KEYED
            for p in await _partitions(probe, topics + topic)
        ]
        on_broker_at_close: dict[date, Counter[str]] = {}

        async def closed(day: BusinessDay) -> None:
            ends = await probe.end_offsets(partitions)
            counts: Counter[str] = Counter()
            for partition, end in ends.items():
                counts[partition.topic.removeprefix(topics)] += end
            on_broker_at_close[day.business_date] = counts

        producer = kafka_producer(stack.bootstrap_servers)
        await producer.start()
        try:
            published = await publish(days, producer, topic_prefix=topics, on_closed=closed)
        finally:
            await producer.stop()
            await probe.stop()

        expected_so_far: Counter[str] = Counter()
        for day in days:
            expected_so_far.update(outgoing.topic for outgoing in day.events)
            assert on_broker_at_close[day.business_date] == Counter({t: expected_so_far[t] for t in KEYED}), (
                f"when {day.business_date} closed"
            )
        total = sum(len(day.events) + 1 for day in days)
        assert published.events == total and published.days == len(days) == 25

        records = await read_back(stack, topics, total)
        assert Counter(r.topic.removeprefix(topics) for r in records) == Counter(
            o.topic for day in days for o in (*day.events, day.close)
        )
        business_date = {o.event.id: day.business_date for day in days for o in (*day.events, day.close)}
        closes = {
            business_date[json.loads(r.value)["id"]]: r.timestamp
            for r in records
            if r.topic.endswith(Topics.CALENDAR)
        }
        previous: dict[date, date] = {b: a for a, b in zip(sorted(closes), sorted(closes)[1:], strict=False)}
        for record in records:
            event = json.loads(record.value)
            assert record.key == event["subject"].encode()
            day = business_date[event["id"]]
            if event["type"] != "corebank.business-day.closed":
                assert record.timestamp <= closes[day]
                if day in previous:
                    assert record.timestamp >= closes[previous[day]]

    def test_the_command_publishes_to_the_broker_and_prefix_of_the_environment(
        self, stack: Stack, topics: str
    ) -> None:
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap_servers, "KAFKA_TOPIC_PREFIX": topics}
        done = subprocess.run(
            [
                venv_script("corebank-simulator"),
                "--accounts",
                "8",
                "--days",
                "5",
                "--no-progress",
                "--rate",
                "500",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        dry = subprocess.run(
            [venv_script("corebank-simulator"), "--accounts", "8", "--days", "5", "--dry-run"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        expected = [json.loads(line) for line in dry.stdout.splitlines()]
        assert f"{len(expected)} events over 5 business days" in done.stdout
        records = asyncio.run(read_back(stack, topics, len(expected)))
        assert sorted(r.value for r in records) == sorted(
            json.dumps(e["event"], ensure_ascii=False, separators=(",", ":")).encode() for e in expected
        )


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[int]:
    """The partitions of `topic` (a consumer with no subscription learns them from the broker)."""
    await consumer._client.force_metadata_update()
    partitions = sorted(consumer.partitions_for_topic(topic) or ())
    assert partitions, topic
    return partitions

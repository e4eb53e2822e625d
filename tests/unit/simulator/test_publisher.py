"""The simulator's publishing order (against a producer whose acks the test holds) and its pacing."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any

import pytest
from aiokafka.errors import KafkaTimeoutError

from corebank_simulator import BusinessDay, Pacer, PublishFailed, SimulationOptions, publish, simulate


class HeldProducer:
    """Records each send; its ack is a future the test resolves."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any], asyncio.Future[None]]] = []

    async def send(self, topic: str, value: bytes, key: bytes) -> asyncio.Future[None]:
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.sent.append((topic, json.loads(value), ack))
        return ack

    def topics(self) -> list[str]:
        return [topic for topic, _, _ in self.sent]


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


class TestPublish:
    async def test_the_close_waits_for_every_ack_of_the_day_and_the_next_day_only_for_the_close(
        self,
    ) -> None:
        first, second = list(simulate(SimulationOptions(60, 2, date(2026, 1, 5))))
        assert first.events and second.events
        producer = HeldProducer()
        closed: list[date] = []

        def note(day: BusinessDay) -> None:
            closed.append(day.business_date)

        task = asyncio.create_task(publish([first, second], producer, topic_prefix="p.", on_closed=note))
        await settle()
        assert len(producer.sent) == len(first.events)
        assert "p.corebank.calendar.v1" not in producer.topics()
        for _, _, ack in producer.sent[:-1]:
            ack.set_result(None)
        await settle()
        assert len(producer.sent) == len(first.events)  # one event still unacknowledged: no close
        producer.sent[-1][2].set_result(None)
        await settle()
        topic, close, close_ack = producer.sent[-1]
        assert (topic, close["data"]) == ("p.corebank.calendar.v1", {"business_date": "2026-01-05"})
        assert len(producer.sent) == len(first.events) + 1 and closed == []  # nothing of day 2 yet
        close_ack.set_result(None)
        await settle()
        assert closed == [date(2026, 1, 5)]
        assert len(producer.sent) == len(first.events) + 1 + len(second.events)  # no consumer awaited
        for _, _, ack in producer.sent:
            if not ack.done():
                ack.set_result(None)
        await settle()
        producer.sent[-1][2].set_result(None)
        published = await asyncio.wait_for(task, 1)
        assert (published.days, published.events) == (2, len(first.events) + len(second.events) + 2)
        assert [e["id"] for _, e, _ in producer.sent] == [
            o.event.id for day in (first, second) for o in (*day.events, day.close)
        ]

    async def test_a_refused_event_fails_the_run_before_the_close(self) -> None:
        days = list(simulate(SimulationOptions(3, 1, date(2026, 1, 5))))
        producer = HeldProducer()
        task = asyncio.create_task(publish(days, producer))
        await settle()
        producer.sent[0][2].set_exception(KafkaTimeoutError())
        with pytest.raises(PublishFailed):
            await asyncio.wait_for(task, 1)
        assert "corebank.calendar.v1" not in producer.topics()


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


class TestPacer:
    async def test_a_rate_spaces_the_calls(self) -> None:
        clock = FakeClock()
        pacer = Pacer(10, clock=clock, sleep=clock.sleep)
        for _ in range(4):
            await pacer.wait()
        assert clock.slept == [0.1, 0.1, 0.1]

    async def test_a_pacer_that_fell_behind_does_not_burst(self) -> None:
        clock = FakeClock()
        pacer = Pacer(10, clock=clock, sleep=clock.sleep)
        await pacer.wait()
        clock.now += 5
        await pacer.wait()
        await pacer.wait()
        assert clock.slept == [0.1]

    async def test_no_rate_means_no_waiting(self) -> None:
        clock = FakeClock()
        pacer = Pacer(None, clock=clock, sleep=clock.sleep)
        for _ in range(3):
            await pacer.wait()
        assert clock.slept == []

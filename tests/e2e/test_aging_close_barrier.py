"""Rule 1 end to end: a close is a barrier placed by where it stands among the events, however
late the aging service reads it.

Core banking publishes each day's events, then the close once they are acknowledged, then the
next day's events as soon as the close is acknowledged. Nothing here waits for the service
between two publications: the service must sort out on its own which records came before a close.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from devstack.stack import Stack
from tests.e2e.aging_harness import COMMANDS, AgingUnderTest
from tests.e2e.histories import (
    D,
    Events,
    emitted_changes,
    expected_changes,
    restart_worker,
    seeded_history,
    stage_changes,
)
from tests.processes import ServiceProcess

pytestmark = [pytest.mark.infra, pytest.mark.slow]


class TestTheNextDaysEventsFollowTheClose:
    async def test_a_payment_right_after_the_close_waits_for_a_calendar_reader_held_back(
        self, stack: Stack, topics: str, namespace: str, tmp_path: Path
    ) -> None:
        """The calendar reader takes 3 s to note each close; the next day's payment is on the
        broker long before. It is still applied after the close: M1 by the close, then cured."""
        events = Events()
        accounts = [f"A{i}" for i in range(12)]
        history = [
            *(events.opened(account) for account in accounts),
            *(
                events.statement(account, "S1", D - timedelta(days=20), D + timedelta(days=1), 10_000)
                for account in accounts
            ),
            events.close(D),
            events.close(D + timedelta(days=1)),
            *(events.payment(account, "P1", D + timedelta(days=2), 10_000) for account in accounts),
        ]
        aging = AgingUnderTest(
            stack, namespace, topics, tmp_path, config={"COLLECTIONS_DELAY_AT": "calendar.before_note:3"}
        ).start(api=False)
        try:
            await aging.publish(history)
            await aging.settled(timeout=90)
            as_of = (D + timedelta(days=2)).isoformat()
            expected = {
                account: [("CURRENT", "M1", "day_close", as_of), ("M1", "CURRENT", "payment", as_of)]
                for account in accounts
            }
            assert expected_changes(history) == expected
            assert await stage_changes(aging) == expected
            assert await emitted_changes(aging) == expected
        finally:
            aging.stop()

    async def test_a_close_and_the_next_days_payment_published_while_the_worker_is_down(
        self, stack: Stack, topics: str, namespace: str, tmp_path: Path
    ) -> None:
        """The issue's reproduction: a due on D+1; the worker stops; close(D+1) and a full payment
        dated D+2 are published; the worker starts: CURRENT to M1 (close), M1 to CURRENT (payment)."""
        events = Events()
        before = [
            events.opened("ACC-1"),
            events.statement("ACC-1", "S1", D - timedelta(days=20), D + timedelta(days=1), 10_000),
            events.close(D),
        ]
        while_down = [
            events.close(D + timedelta(days=1)),
            events.payment("ACC-1", "P1", D + timedelta(days=2), 10_000),
        ]
        aging = AgingUnderTest(stack, namespace, topics, tmp_path).start(api=False)
        try:
            await aging.publish(before)
            await aging.settled()
            assert await stage_changes(aging) == {}
            worker = next(p for p in aging.processes if p.argv[-1] == "worker")
            worker.stop()
            await aging.publish(while_down)
            aging.processes.remove(worker)
            restart = ServiceProcess(COMMANDS["worker"], aging.env, aging.logs / "worker-again.log").start()
            aging.processes.append(restart)
            await aging.settled()
            as_of = (D + timedelta(days=2)).isoformat()
            expected = {"ACC-1": [("CURRENT", "M1", "day_close", as_of), ("M1", "CURRENT", "payment", as_of)]}
            assert await stage_changes(aging) == expected
            assert await emitted_changes(aging) == expected
        finally:
            aging.stop()


class TestAReplayRebuildsTheSameHistory:
    async def test_live_run_with_crashes_and_a_replay_into_an_empty_database_emit_the_same_changes(
        self, stack: Stack, topics: str, namespace: str, tmp_path: Path
    ) -> None:
        """80 accounts over 100 business days, published at core banking's pace while the worker
        is killed twice: every account's changes are those of the pure rules fed the events in
        publication order. A second service reading the same topics from the start into an empty
        database stores exactly the same (account, from, to, cause, as_of) sequences."""
        history = seeded_history(seed=20261201, accounts=80, days=100)
        expected = expected_changes(history)
        assert sum(len(changes) for changes in expected.values()) > 100, "a history with stage changes"
        assert any(c[2] == "day_close" for changes in expected.values() for c in changes)

        live = AgingUnderTest(stack, namespace, topics, tmp_path).start(api=False)
        try:
            third = len(history) // 3
            for segment in (history[:third], history[third : 2 * third]):
                await live.publish(segment)  # the worker is still working through it when killed
                await asyncio.to_thread(restart_worker, live, kill=True)
            await live.publish(history[2 * third :])
            await live.settled(timeout=120)
            assert await stage_changes(live) == expected
            assert await emitted_changes(live) == expected
        finally:
            live.stop()

        replay = AgingUnderTest(
            stack, f"{namespace}r", topics, tmp_path, config={"KAFKA_CONSUMER_GROUP": "aging-replay"}
        ).start(api=False)
        try:
            await replay.settled(timeout=120)
            assert await stage_changes(replay) == expected
        finally:
            replay.stop()

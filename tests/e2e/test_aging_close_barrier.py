"""Rule 1 end to end: a close is a barrier placed by where it stands among the events, however
late the aging service reads it.

Core banking publishes each day's events, then the close once they are acknowledged, then the
next day's events as soon as the close is acknowledged. Nothing here waits for the service
between two publications: the service must sort out on its own which records came before a close.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from aging_service.domain.policy import AgingPolicy
from aging_service.settings import parse_buckets
from devstack.stack import Stack
from tests.e2e.aging_harness import COMMANDS, AgingUnderTest
from tests.processes import ServiceProcess, wait_for_status
from tests.pure_driver import PureDriver

pytestmark = [pytest.mark.infra, pytest.mark.slow]

D = date(2026, 3, 2)
Change = tuple[str, str, str, str]  # (from, to, cause, as_of)


class Events:
    """Contract events as core banking writes them (CloudEvents dicts with their topic)."""

    def __init__(self) -> None:
        self._next = 0

    def _event(self, topic: str, kind: str, subject: str, data: dict[str, Any]) -> dict[str, Any]:
        self._next += 1
        return {
            "topic": topic,
            "event": {
                "specversion": "1.0",
                "id": f"cb-{self._next:06d}",
                "source": "corebank",
                "type": f"corebank.{kind}",
                "subject": subject,
                "datacontenttype": "application/json",
                "data": data,
            },
        }

    def opened(self, account: str) -> dict[str, Any]:
        return self._event(
            "corebank.accounts.v1",
            "account.opened",
            account,
            {
                "account_id": account,
                "customer_id": f"C-{account}",
                "currency": "CNY",
                "credit_limit_minor": 5_000_000,
                "opened_on": "2025-12-01",
                "holder": {"name": "Test Holder", "timezone": "Asia/Shanghai", "language": "zh-CN"},
                "consents": {"sms": True, "email": True, "push": True, "autodial": True},
            },
        )

    def statement(self, account: str, statement_id: str, on: date, due: date, minimum: int) -> dict[str, Any]:
        return self._event(
            "corebank.billing.v1",
            "statement.issued",
            account,
            {
                "account_id": account,
                "statement_id": statement_id,
                "statement_date": on.isoformat(),
                "due_date": due.isoformat(),
                "statement_balance_minor": minimum * 5,
                "minimum_due_minor": minimum,
                "currency": "CNY",
            },
        )

    def payment(self, account: str, payment_id: str, value_date: date, amount: int) -> dict[str, Any]:
        return self._event(
            "corebank.payments.v1",
            "payment.posted",
            account,
            {
                "account_id": account,
                "payment_id": payment_id,
                "amount_minor": amount,
                "currency": "CNY",
                "value_date": value_date.isoformat(),
                "channel": "bank_transfer",
            },
        )

    def reversal(self, account: str, payment_id: str) -> dict[str, Any]:
        return self._event(
            "corebank.payments.v1",
            "payment.reversed",
            account,
            {"account_id": account, "payment_id": payment_id, "reason": "returned"},
        )

    def close(self, day: date) -> dict[str, Any]:
        return self._event(
            "corebank.calendar.v1", "business-day.closed", "calendar", {"business_date": day.isoformat()}
        )


async def stage_changes(aging: AgingUnderTest) -> dict[str, list[Change]]:
    """Every account's stage history as the service stored it, in order."""
    conn = await aging.connect()
    try:
        rows = await conn.fetch(
            "SELECT account_id, from_stage, to_stage, cause, as_of FROM stage_changes ORDER BY id"
        )
    finally:
        await conn.close()
    history: dict[str, list[Change]] = defaultdict(list)
    for row in rows:
        history[row["account_id"]].append(
            (row["from_stage"], row["to_stage"], row["cause"], row["as_of"].isoformat())
        )
    return dict(history)


async def emitted_changes(aging: AgingUnderTest) -> dict[str, list[Change]]:
    """Every account's ``collections.stage.changed`` events on the topic (a resend counted once)."""
    seen: set[str] = set()
    history: dict[str, list[Change]] = defaultdict(list)
    for _, value in await aging.read_topic("collections.delinquency.v1"):
        event = json.loads(value)
        if event["id"] in seen:
            continue
        seen.add(event["id"])
        data = event["data"]
        history[data["account_id"]].append(
            (data["from_stage"], data["to_stage"], data["cause"], data["as_of"])
        )
    return dict(history)


def expected_changes(events: list[dict[str, Any]]) -> dict[str, list[Change]]:
    """The changes of the pure domain fed the events in the order core banking published them."""
    driver = PureDriver(AgingPolicy(buckets=parse_buckets("CURRENT:0,M1:1,M2:31,M3:61,M3+:91")))
    for item in events:
        driver.deliver(item["event"])
    history: dict[str, list[Change]] = defaultdict(list)
    for change in driver.changes:
        history[change.account_id].append(
            (change.from_stage, change.to_stage, change.cause, change.as_of.isoformat())
        )
    return dict(history)


def restart_worker(aging: AgingUnderTest, *, kill: bool) -> None:
    """Stop the worker (SIGKILL or SIGTERM) and start a new one in its place."""
    worker = next(p for p in aging.processes if p.argv[-1] == "worker" and p.alive)
    if kill:
        worker.kill()
    else:
        worker.stop()
    aging.processes.remove(worker)
    fresh = ServiceProcess(
        COMMANDS["worker"], aging.env, aging.logs / f"{aging.namespace}-worker.log"
    ).start()
    aging.processes.append(fresh)
    wait_for_status(f"http://127.0.0.1:{aging.worker_port}/readyz", 200, proc=fresh)


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


@dataclass(frozen=True)
class Payer:
    """How an account pays each statement: ``delay`` days after its due date (None: never),
    ``share`` of the minimum, and whether the payment is reversed three days later."""

    delay: int | None
    share: float = 1.0
    reversed: bool = False


PAYERS = (
    Payer(0),
    Payer(1),  # a day late: applied after the close of its due date, so M1 for a day
    Payer(-3),
    Payer(12),
    Payer(35),
    Payer(None),
    Payer(0, share=0.5),
    Payer(0, reversed=True),
)


def seeded_history(seed: int, accounts: int, days: int) -> list[dict[str, Any]]:
    """A portfolio's business days as core banking publishes them: each day's statements,
    payments and reversals, then the day's close."""
    rng = random.Random(seed)
    events = Events()
    start = date(2026, 1, 1)
    by_day: dict[date, list[dict[str, Any]]] = defaultdict(list)
    opening = []
    for n in range(accounts):
        account = f"ACC-{n:03d}"
        opening.append(events.opened(account))
        payer = rng.choice(PAYERS)
        cycle_day = rng.randint(1, 20)
        for month in range(days // 28 + 1):
            on = start + timedelta(days=cycle_day + 30 * month)
            if on >= start + timedelta(days=days):
                break
            due = on + timedelta(days=20)
            minimum = rng.randrange(5_000, 50_000, 100)
            by_day[on].append(events.statement(account, f"S{month}", on, due, minimum))
            if payer.delay is None:
                continue
            paid_on = due + timedelta(days=payer.delay)
            amount = int(minimum * payer.share) if payer.share < 1 else minimum
            by_day[paid_on].append(events.payment(account, f"P{month}", paid_on, amount))
            if payer.reversed:
                by_day[paid_on + timedelta(days=3)].append(events.reversal(account, f"P{month}"))
    history = list(opening)
    for offset in range(days):
        day = start + timedelta(days=offset)
        todays = by_day.get(day, [])
        rng.shuffle(todays)
        history.extend(todays)
        history.append(events.close(day))
    return history


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

"""Core banking's histories for the aging end-to-end tests, and how to read what aging did.

``Events`` writes contract events as core banking does; ``seeded_history`` is a portfolio's
business days published in order (each day's events, then its close); ``expected_changes`` is
what the pure rules make of them in publication order, to compare with what the service stored
(``stage_changes``) and emitted (``emitted_changes``).
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from aging_service.domain.policy import AgingPolicy
from aging_service.settings import parse_buckets
from tests.e2e.aging_harness import COMMANDS, AgingUnderTest
from tests.processes import ServiceProcess, wait_for_status
from tests.pure_driver import PureDriver

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

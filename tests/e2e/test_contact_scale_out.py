"""Scaling out the contact service: two workers in one consumer group on one database share the
input partitions. A worker joining mid-run and another leaving lose and double nothing: every
debtor's case, planned contacts and call tasks are what one worker applying the same events in
order makes."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from contact_service.bootstrap import SERVICE
from contact_service.settings import ContactSettings
from devstack.stack import Stack
from tests.auth_tokens import StaffTokens
from tests.contact_harness import apply, opened, rows, stage_changed
from tests.e2e.aging_harness import end_offsets, until
from tests.e2e.contact_stack import ContactUnderTest

pytestmark = [pytest.mark.infra, pytest.mark.slow]

INPUTS = ("corebank.accounts.v1", "collections.delinquency.v1")
START = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
# What a worker leaves behind for a debtor: compared as multisets, without generated ids.
CASES = "SELECT customer_id, stage FROM cases"
ACCOUNTS = "SELECT account_id, customer_id, stage, dpd, past_due_minor FROM case_accounts"
PLANNED = (
    "SELECT customer_id, account_id, stage, step, channel, due_at, status, cancel_reason"
    " FROM planned_contacts"
)
TASKS = "SELECT customer_id, account_id, stage, step, due_at, status, cancel_reason, score FROM call_tasks"


def histories(seed: int, debtors: int) -> list[list[dict[str, Any]]]:
    """Each debtor's events in order: opened, then stage changes as aging publishes them over
    a few months (entries into M1..M3 and cures), each stamped when aging made it."""
    rng = random.Random(seed)
    out: list[list[dict[str, Any]]] = []
    for n in range(debtors):
        customer, account = f"S{n:03d}", f"S{n:03d}-1"
        events = [opened(account, customer, timezone=rng.choice(["Asia/Shanghai", "America/New_York"]))]
        stage, at = "CURRENT", START + timedelta(hours=rng.randrange(48))
        for _ in range(rng.randrange(2, 6)):
            nxt = {
                "CURRENT": "M1",
                "M1": rng.choice(["M2", "CURRENT"]),
                "M2": rng.choice(["M3", "CURRENT"]),
            }.get(stage, "CURRENT")
            at += timedelta(days=rng.randrange(1, 31), hours=rng.randrange(24))
            dpd = {"M1": rng.randrange(1, 31), "M2": rng.randrange(31, 61), "M3": rng.randrange(61, 91)}.get(
                nxt, 0
            )
            events.append(
                stage_changed(
                    account,
                    customer,
                    nxt,
                    from_stage=stage,
                    dpd=dpd,
                    past_due_minor=rng.randrange(10_000, 900_000),
                    as_of=at.date().isoformat(),
                    time=at.isoformat(),
                )
            )
            stage = nxt
        out.append(events)
    return out


def interleaved(per_debtor: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Round robin over the debtors: each debtor's own order kept, the debtors mixed."""
    longest = max(map(len, per_debtor))
    return [events[i] for i in range(longest) for events in per_debtor if i < len(events)]


@pytest.fixture
async def reference(stack: Stack, namespace: str) -> AsyncIterator[tuple[ContactSettings, AsyncEngine]]:
    """A database the same events are applied to one by one, in process: one worker's result."""
    name = f"{namespace}_reference"
    stack.create_database(name)
    settings = ContactSettings(database_url=stack.database_url(name))
    SERVICE.migrate(settings)
    engine = create_async_engine(settings.database_url)
    try:
        yield settings, engine
    finally:
        await engine.dispose()


async def _state(contact: ContactUnderTest | AsyncEngine) -> dict[str, Counter[tuple[Any, ...]]]:
    found: dict[str, Counter[tuple[Any, ...]]] = {}
    for name, sql in (("cases", CASES), ("accounts", ACCOUNTS), ("planned", PLANNED), ("tasks", TASKS)):
        if isinstance(contact, ContactUnderTest):
            found[name] = Counter(tuple(r.values()) for r in await contact.fetch(sql))
        else:
            found[name] = Counter(await rows(contact, sql))
    return found


class TestTwoContactWorkers:
    async def test_a_worker_joining_and_another_leaving_mid_run_lose_and_double_nothing(
        self,
        stack: Stack,
        topics: str,
        namespace: str,
        tmp_path: Path,
        reference: tuple[ContactSettings, AsyncEngine],
    ) -> None:
        per_debtor = histories(seed=11, debtors=60)
        accounts = [events[0] for events in per_debtor]
        events = interleaved([events[1:] for events in per_debtor])
        settings, engine = reference
        for body in [*accounts, *events]:
            await apply(engine, settings, body)
        expected = await _state(engine)

        contact = ContactUnderTest(
            stack,
            namespace,
            topics,
            tmp_path,
            StaffTokens(tmp_path / "jwks.json"),
            {"SENDER_ENABLED": "false"},
        ).start(api=False)
        first = contact.processes[0]
        try:
            # The accounts were opened before aging ever aged them (another producer, another
            # topic: the worker does not order the two, so the openings are applied first).
            await contact.publish(*accounts)
            await contact.applied(*accounts)
            third = len(events) // 3
            await contact.publish(*events[:third])
            contact.start_worker("second")  # joins the group: the partitions are shared out again
            await contact.publish(*events[third : 2 * third])
            first.stop()  # leaves the group: its partitions move to the second worker
            await contact.publish(*events[2 * third :])

            ends = await end_offsets(stack, [topics + topic for topic in INPUTS])

            async def consumed() -> bool:
                positions = {
                    (r["topic"], r["partition"]): r["next_offset"]
                    for r in await contact.fetch(
                        "SELECT topic, partition, next_offset FROM consumer_positions"
                    )
                }
                return all(
                    positions.get((t.removeprefix(topics), p), 0) >= end for (t, p), end in ends.items()
                )

            await until(consumed, what="every input applied", timeout=120)
            applied = await contact.fetch("SELECT count(*) AS n FROM processed_events")
            actual = await _state(contact)
        finally:
            contact.stop()

        assert applied[0]["n"] == len(accounts) + len(events), "each event applied once"
        assert sum(expected["planned"].values()) > 0 and sum(expected["tasks"].values()) > 0
        for name in expected:
            assert actual[name] == expected[name], f"{name} differ from one worker's"

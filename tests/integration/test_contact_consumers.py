"""The contact worker's two consumers (``bootstrap.STAGE_CHANGES`` and ``OTHER_INPUTS``) on a real
broker and database: stage changes are applied while the other consumer is stuck in a batch, a
database the earlier single consumer left behind is continued without re-reading or skipping an
event, two concurrent batches on the same debtors do not deadlock, and the bad account events of
a batch are dead letters while the others beside them apply."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from collections_common.runtime import ConsumerRunner
from contact_service.bootstrap import OTHER_INPUTS, SERVICE, STAGE_CHANGES
from contact_service.domain.compliance import account_lock_key, lock_key
from contact_service.handlers import handler_for
from contact_service.settings import ContactSettings
from contact_service.waiting_gauge import WaitingGauge
from devstack.stack import Stack
from tests.contact_harness import TOPIC_OF, apply, event, handle, opened, rows, stage_changed
from tests.e2e.aging_harness import end_offsets, until

pytestmark = pytest.mark.infra

DELINQUENCY = "collections.delinquency.v1"
INPUTS = (*STAGE_CHANGES, *OTHER_INPUTS)


@pytest.fixture
def settings(stack: Stack, namespace: str, topics: str) -> ContactSettings:
    settings = ContactSettings(
        database_url=stack.create_database(f"{namespace}_contact"),
        kafka_bootstrap_servers=stack.bootstrap_servers,
        kafka_topic_prefix=topics,
        consumer_poll_timeout_ms=50,
    )
    SERVICE.migrate(settings)
    return settings


@pytest.fixture
async def publish(settings: ContactSettings) -> AsyncIterator[Callable[..., Awaitable[None]]]:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_idempotence=True)
    await producer.start()

    async def send(*bodies: dict[str, Any]) -> None:
        for body in bodies:
            key = body["data"].get("account_id", "calendar").encode()
            await producer.send_and_wait(
                settings.topic(TOPIC_OF[body["type"]]), json.dumps(body).encode(), key=key
            )

    try:
        yield send
    finally:
        await producer.stop()


def the_workers_consumers(settings: ContactSettings, engine: AsyncEngine) -> list[ConsumerRunner]:
    return [c for c in SERVICE.worker_components(settings, engine) if isinstance(c, ConsumerRunner)]


@asynccontextmanager
async def running(runners: Sequence[ConsumerRunner]) -> AsyncIterator[None]:
    stop = asyncio.Event()
    tasks = [asyncio.create_task(runner.run(stop)) for runner in runners]
    try:
        yield
    finally:
        stop.set()
        await asyncio.gather(*tasks)


async def consumed(stack: Stack, settings: ContactSettings, engine: AsyncEngine) -> None:
    """Until the stored positions reach the end of every partition of every input."""
    ends = await end_offsets(stack, [settings.topic(topic) for topic in INPUTS])

    async def done() -> bool:
        stored: dict[tuple[str, int], int] = {}
        for topic, partition, offset in await rows(
            engine, "SELECT topic, partition, max(next_offset) FROM consumer_positions GROUP BY 1, 2"
        ):  # under any consumer name
            assert isinstance(topic, str) and isinstance(partition, int) and isinstance(offset, int)
            stored[(settings.topic(topic), partition)] = offset
        return all(stored.get(key, 0) >= end for key, end in ends.items())

    await until(done, what="every input applied", timeout=60)


def counted(name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` with these labels, under any consumer name."""
    return sum(
        sample.value
        for metric in REGISTRY.collect()
        for sample in metric.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


class TestTwoConsumers:
    async def test_a_cure_is_applied_while_the_other_consumer_is_stuck_in_a_batch_of_payments(
        self,
        stack: Stack,
        settings: ContactSettings,
        engine: AsyncEngine,
        publish: Callable[..., Awaitable[None]],
    ) -> None:
        await publish(opened("A1", "C1"), stage_changed("A1", "C1", "M1"))
        async with running(the_workers_consumers(settings, engine)):
            await consumed(stack, settings, engine)
            async with engine.connect() as blocker:
                await blocker.execute(text("BEGIN"))
                await blocker.execute(text("LOCK TABLE payments IN EXCLUSIVE MODE"))  # payments wait
                await publish(
                    event(
                        "corebank.payment.posted",
                        {
                            "account_id": "A1",
                            "payment_id": "P1",
                            "amount_minor": 150_000,
                            "currency": "CNY",
                            "value_date": "2026-03-03",
                        },
                    )
                )
                await asyncio.sleep(1)  # the payment's batch is now waiting for the lock
                await publish(stage_changed("A1", "C1", "CURRENT", from_stage="M1", as_of="2026-03-03"))

                async def cured() -> bool:
                    return await rows(engine, "SELECT stage FROM cases WHERE customer_id = 'C1'") == [
                        ("CURRENT",)
                    ]

                await until(cured, what="the cure applied beside the stuck payment", timeout=30)
                assert await rows(engine, "SELECT count(*) FROM payments") == [(0,)], "still stuck"
                await blocker.execute(text("ROLLBACK"))
            await consumed(stack, settings, engine)
        assert await rows(engine, "SELECT payment_id FROM payments") == [("P1",)]
        assert await rows(
            engine, "SELECT DISTINCT status, cancel_reason FROM planned_contacts WHERE customer_id = 'C1'"
        ) == [("cancelled", "cured")]

    async def test_the_single_consumers_positions_and_claims_carry_over(
        self,
        stack: Stack,
        settings: ContactSettings,
        engine: AsyncEngine,
        publish: Callable[..., Awaitable[None]],
    ) -> None:
        to_m1 = [stage_changed(f"A{n}", f"C{n}", "M1") for n in range(3)]
        await publish(*(opened(f"A{n}", f"C{n}") for n in range(3)), *to_m1)
        # The worker as it was: one consumer of every input, under the service's consumer name.
        single = ConsumerRunner(
            settings=settings, engine=engine, topics=INPUTS, handler=handler_for(settings)
        )
        async with running([single]):
            await consumed(stack, settings, engine)

        later = [
            stage_changed("A0", "C0", "CURRENT", from_stage="M1", as_of="2026-03-03"),
            stage_changed("A1", "C1", "M2", from_stage="M1", dpd=35, as_of="2026-03-31"),
        ]
        # A stage change applied before, published again (as a relay crash may): a duplicate.
        await publish(*later, to_m1[2])
        handled = counted(
            "collections_events_handled_total", topic=DELINQUENCY, type="collections.stage.changed"
        )
        duplicates = counted("collections_events_duplicate_total", topic=DELINQUENCY)

        async with running(the_workers_consumers(settings, engine)):
            await consumed(stack, settings, engine)

        # Only the events after the stored positions are read; the claimed one is skipped.
        assert counted(
            "collections_events_handled_total", topic=DELINQUENCY, type="collections.stage.changed"
        ) - handled == len(later)
        assert counted("collections_events_duplicate_total", topic=DELINQUENCY) - duplicates == 1
        assert await rows(engine, "SELECT customer_id, stage FROM cases ORDER BY customer_id") == [
            ("C0", "CURRENT"),
            ("C1", "M2"),
            ("C2", "M1"),
        ]
        assert await rows(engine, "SELECT count(*) FROM processed_events") == [(3 + 3 + 2,)]


class TestStageChangeBeforeItsOpening:
    async def test_it_waits_instead_of_the_dead_letter_topic_and_the_opening_applies_it(
        self,
        stack: Stack,
        settings: ContactSettings,
        engine: AsyncEngine,
        publish: Callable[..., Awaitable[None]],
    ) -> None:
        to_m1 = stage_changed("A1", "C1", "M1")
        to_m1["data"]["customer_id"] = None  # aging had not applied the opening yet
        opening = opened("A1", "C1")

        async def state() -> dict[str, list[tuple[object, ...]]]:
            return {
                "cases": await rows(engine, "SELECT customer_id, stage FROM cases"),
                "planned": await rows(
                    engine, "SELECT stage, step, due_at, status FROM planned_contacts ORDER BY 1, 2, 3"
                ),
            }

        dead = counted("collections_dead_letters_total")
        gauge = WaitingGauge(engine)
        async with running(the_workers_consumers(settings, engine)):
            await publish(to_m1)
            await consumed(stack, settings, engine)
            assert await rows(engine, "SELECT account_id FROM waiting_stage_changes") == [("A1",)]
            assert await gauge.refresh() == 1
            assert REGISTRY.get_sample_value("collections_contact_stage_changes_waiting") == 1

            await publish(opening)
            await consumed(stack, settings, engine)
            after = await state()
            assert after["cases"] == [("C1", "M1")]
            assert {(stage, status) for stage, _, _, status in after["planned"]} == {("M1", "pending")}
            assert await rows(engine, "SELECT count(*) FROM waiting_stage_changes") == [(0,)]
            assert await gauge.refresh() == 0

            await publish(to_m1, opening)  # redelivered: both skipped as duplicates
            await consumed(stack, settings, engine)
        assert after == await state()
        assert await rows(engine, "SELECT count(*) FROM waiting_stage_changes") == [(0,)]
        assert counted("collections_dead_letters_total") == dead


class TestConcurrentBatches:
    async def test_a_stage_change_that_waited_for_the_accounts_lock_sees_the_opening_committed(
        self, settings: ContactSettings, engine: AsyncEngine
    ) -> None:
        """The stage change found its account unlinked while the opening's transaction, holding
        the account's lock, linked it: once the opening commits, the change is applied, not kept
        (the opening found nothing kept, so nothing would apply it later)."""
        to_m1 = stage_changed("A1", "C1", "M1")
        to_m1["data"]["customer_id"] = None

        async def waiting_for_a_lock() -> bool:
            return await rows(
                engine,
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'",
            ) == [(1,)]

        async with AsyncSession(engine) as session:
            await session.begin()
            await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": account_lock_key("A1")})
            change = asyncio.create_task(apply(engine, settings, to_m1))
            await until(waiting_for_a_lock, what="the stage change waiting for the account's lock")
            await handle(session, settings, opened("A1", "C1"))
            await session.commit()
        await asyncio.wait_for(change, timeout=30)
        assert await rows(engine, "SELECT count(*) FROM waiting_stage_changes") == [(0,)]
        assert await rows(engine, "SELECT customer_id, stage FROM cases") == [("C1", "M1")]

    async def test_account_events_and_stage_changes_of_the_same_debtors_do_not_deadlock(
        self, settings: ContactSettings, engine: AsyncEngine
    ) -> None:
        """The account events' batch takes the higher debtor's lock first in event order, then
        waits (for another transaction's link of the lower debtor's new account) while the stage
        changes' batch takes the lower debtor's lock and waits for the higher: unless the account
        events' batch takes both locks up front in key order, each ends up waiting for the other."""
        low, high = sorted(("C1", "C2"), key=lock_key)
        await apply(
            engine,
            settings,
            opened("A1", "C1"),
            opened("A2", "C2"),
            stage_changed("A1", "C1", "M1"),
            stage_changed("A2", "C2", "M1"),
        )

        async def waiting(n: int) -> bool:
            return await rows(
                engine,
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'",
            ) == [(n,)]

        async with engine.connect() as other:
            await other.execute(text("BEGIN"))
            await other.execute(
                text("INSERT INTO case_accounts (account_id, customer_id) VALUES ('N-low', :c)"), {"c": low}
            )
            accounts = asyncio.create_task(
                apply(engine, settings, opened("N-high", high), opened("N-low", low))
            )
            await until(lambda: waiting(1), what="the account events' batch waiting")
            cures = asyncio.create_task(
                apply(
                    engine,
                    settings,
                    *(
                        stage_changed(account, customer, "CURRENT", from_stage="M1", as_of="2026-03-03")
                        for account, customer in sorted(
                            (("A1", "C1"), ("A2", "C2")), key=lambda a: lock_key(a[1])
                        )
                    ),
                )
            )
            await until(lambda: waiting(2), what="the stage changes' batch waiting too")
            await other.execute(text("ROLLBACK"))
        await asyncio.wait_for(asyncio.gather(accounts, cures), timeout=30)  # neither deadlocked
        assert await rows(engine, "SELECT customer_id, stage FROM cases ORDER BY 1") == [
            ("C1", "CURRENT"),
            ("C2", "CURRENT"),
        ]
        assert await rows(engine, "SELECT count(*) FROM case_accounts WHERE account_id LIKE 'N-%'") == [(2,)]


async def dead_lettered(engine: AsyncEngine, topic: str) -> list[tuple[str, str]]:
    """(event id, reason) of each dead letter of ``topic`` in the outbox, oldest first."""
    found = []
    for payload, headers in await rows(
        engine, "SELECT payload, headers FROM outbox WHERE topic = :t ORDER BY id", t=f"{topic}.dlq"
    ):
        assert isinstance(payload, bytes) and isinstance(headers, list)
        named = {base64.b64decode(name).decode(): base64.b64decode(value).decode() for name, value in headers}
        found.append((json.loads(payload)["id"], named["dlq-reason"]))
    return found


class TestAccountEventsThroughTheRunner:
    async def test_the_bad_ones_are_dead_letters_the_others_apply_and_a_redelivery_changes_nothing(
        self,
        stack: Stack,
        settings: ContactSettings,
        engine: AsyncEngine,
        publish: Callable[..., Awaitable[None]],
    ) -> None:
        good = [opened(f"A{n}", f"C{n // 2}") for n in range(20)]  # ten debtors with two accounts
        flagged = [
            event("corebank.account.updated", {"account_id": f"A{n}", "flags": {"dispute": True}})
            for n in range(0, 20, 5)
        ]
        never_opened = event("corebank.account.updated", {"account_id": "A99", "flags": {"dispute": True}})
        nowhere = opened("A50", "C50", timezone="Mars/Olympus")
        after_nowhere = event("corebank.account.updated", {"account_id": "A50", "risk": {"rating": "C"}})
        # Published before the consumers start, so that they come in as few batches as they can.
        await publish(*good[:10], never_opened, *good[10:], nowhere, after_nowhere, *flagged)
        never = "account.updated of an account the contact service never saw opened"
        expected = [
            (never_opened["id"], never),
            (nowhere["id"], "holder.timezone is not a known IANA time zone"),
            (after_nowhere["id"], never),
        ]

        async def state() -> dict[str, list[tuple[object, ...]]]:
            return {
                "cases": await rows(
                    engine,
                    "SELECT customer_id, timezone FROM cases WHERE profile_as_of IS NOT NULL ORDER BY 1",
                ),
                "accounts": await rows(
                    engine, "SELECT account_id, customer_id, flags::text FROM case_accounts ORDER BY 1"
                ),
                "points": await rows(engine, "SELECT customer_id, value FROM contact_points ORDER BY 1, 2"),
            }

        dead = counted("collections_dead_letters_total")
        async with running(the_workers_consumers(settings, engine)):
            await consumed(stack, settings, engine)
            after = await state()
            assert sorted(await dead_lettered(engine, "corebank.accounts.v1")) == sorted(expected)
            assert counted("collections_dead_letters_total") == dead + 3
            assert after["cases"] == [(f"C{n}", "Asia/Shanghai") for n in range(10)]
            assert [(a, c) for a, c, _ in after["accounts"]] == sorted(
                (f"A{n}", f"C{n // 2}") for n in range(20)
            )
            assert {a for a, _, flags in after["accounts"] if flags != "{}"} == {"A0", "A5", "A10", "A15"}
            assert len(after["points"]) == 20  # a phone and an e-mail address each
            assert await rows(engine, "SELECT count(*) FROM processed_events") == [(20 + 4,)]

            await publish(*good, never_opened, nowhere, after_nowhere, *flagged)  # redelivered
            await consumed(stack, settings, engine)
        assert await state() == after
        assert await rows(engine, "SELECT count(*) FROM processed_events") == [(20 + 4,)]
        # The bad ones were not recorded as applied: each is a dead letter again.
        assert sorted(await dead_lettered(engine, "corebank.accounts.v1")) == sorted(expected * 2)

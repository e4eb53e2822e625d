"""The one-statement lock and read of a reservation's inputs against the repositories it replaces."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from collections_common.database import pooled_driver, session_driver
from contact_service.adapters.cases import CaseRepository, HoldRow
from contact_service.adapters.decision_inputs import DecisionInputsRepository
from contact_service.adapters.driver import in_transaction
from contact_service.adapters.permits import InboundRow, PermitRepository, PermitRow, store_decision
from contact_service.bootstrap import SERVICE
from contact_service.domain.compliance import ContactHistory, PermitRequest
from contact_service.domain.contact import Channel, ContactPoint, Owner
from contact_service.permits import decide_and_store
from contact_service.settings import ContactSettings
from devstack.stack import Stack
from tests.contact_harness import apply, event, opened

pytestmark = [pytest.mark.infra]

MORNING = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)


@pytest.fixture
async def engine(stack: Stack, namespace: str) -> AsyncIterator[tuple[AsyncEngine, ContactSettings]]:
    name = f"{namespace}_contact"
    stack.create_database(name)
    settings = ContactSettings(database_url=stack.database_url(name))
    SERVICE.migrate(settings)
    engine = create_async_engine(settings.database_url)
    try:
        yield engine, settings
    finally:
        await engine.dispose()


def permit(n: int, at: datetime, *, allowed: bool = True, outcome: str | None = None) -> PermitRow:
    return PermitRow(
        permit_id=f"P{n}",
        customer_id="C1",
        account_id="A1" if n % 2 else "A2",
        channel="call" if n % 3 else "sms",
        contact_point="+12125550101",
        party_kind="agency" if n % 4 == 0 else "bank",
        party_id="AG1" if n % 4 == 0 else None,
        autodialled=False,
        purpose="collect",
        at=at,
        pack="us-regf",
        allowed=allowed,
        expires_at=at + timedelta(minutes=15) if allowed else None,
        rule=None if allowed else "hours",
        retry_after=None,
        requested_by="test",
        decided_at=at,
        outcome=outcome,
    )


def key(history: ContactHistory) -> tuple[list[object], list[object]]:
    return (
        sorted(history.permits, key=lambda p: (p.at, p.account_id, p.channel)),
        sorted(history.inbound, key=lambda i: (i.at, i.account_id)),
    )


class TestDecisionInputs:
    async def test_reads_the_same_facts_and_history_as_the_case_and_permit_repositories(
        self, engine: tuple[AsyncEngine, ContactSettings]
    ) -> None:
        db, settings = engine
        consents = {"sms": True, "email": False, "push": True, "autodial": False}
        await apply(
            db,
            settings,
            opened("A1", "C1", timezone="America/New_York", phones=["+12125550101"], consents=consents),
            opened("A2", "C1", timezone="America/New_York", phones=["+12125550102"], consents=consents),
            event("corebank.account.updated", {"account_id": "A2", "flags": {"dispute": True}}),
        )
        async with AsyncSession(db) as session, session.begin():
            cases = CaseRepository(session)
            await cases.add_contact_point(
                "C1", ContactPoint("+12125550199", Owner.THIRD_PARTY, "collector"), added_by="c1"
            )
            for n, (ends, ended) in enumerate(
                [(date(2026, 4, 1), None), (date(2026, 2, 1), date(2026, 2, 1))]
            ):
                await cases.add_hold(
                    "C1",
                    HoldRow(f"H{n}", "A1", "hardship", None, ends, "s1", MORNING, None, None),
                )
                if ended is not None:
                    await cases.end_hold(f"H{n}", ended, "s1")
            await cases.set_unreachable("C1", True)
            repo = PermitRepository(session)
            outcomes = [None, "no_answer", "reached", "unknown", None]
            for n in range(40):
                at = MORNING + timedelta(hours=7 * n - 140, microseconds=n)
                await repo.add(permit(n, at, allowed=n % 5 != 0))
                if outcomes[n % 5] is not None:
                    await repo.set_outcome(
                        f"P{n}", outcome=str(outcomes[n % 5]), at=at, recording_ref=None, details=None, by="t"
                    )
            for n in range(6):
                at = MORNING + timedelta(days=3 * n - 9)
                await repo.add_inbound(
                    InboundRow(f"I{n}", "C1", "A1", "call", "+12125550101", at, "reached", "t")
                )

        async with AsyncSession(db) as session:
            record = await CaseRepository(session).load("C1")
            start, end = MORNING - timedelta(days=6, hours=5), MORNING + timedelta(days=5)
            expected_history = await PermitRepository(session).history("C1", start, end)
            inputs = await DecisionInputsRepository(await in_transaction(session)).lock_and_load(
                "C1", start - timedelta(days=2), end + timedelta(days=2)
            )
        expected = record.case.compliance_facts(unreachable=record.unreachable)
        assert inputs.facts == expected
        assert inputs.exists
        assert expected.flags == frozenset({"dispute"}) and len(expected.holds) == 1 and expected.unreachable
        assert key(inputs.within(start, end)) == key(expected_history)
        assert len(expected_history.permits) > 5 and len(expected_history.inbound) > 1
        assert len(inputs.history.permits) > len(expected_history.permits)  # the wider span read more
        assert all(p.at.tzinfo is UTC for p in inputs.history.permits)

    async def test_a_debtor_with_no_case_gets_the_defaults_as_the_case_repository_does(
        self, engine: tuple[AsyncEngine, ContactSettings]
    ) -> None:
        db, _ = engine
        async with AsyncSession(db) as session:
            record = await CaseRepository(session).load("NOBODY")
            inputs = await DecisionInputsRepository(await in_transaction(session)).lock_and_load(
                "NOBODY", MORNING, MORNING + timedelta(days=1)
            )
        assert inputs.facts == record.case.compliance_facts(unreachable=record.unreachable)
        assert not inputs.exists and inputs.history == ContactHistory(permits=[], inbound=[])

    async def test_the_read_and_the_insert_refuse_to_run_outside_a_transaction(
        self, engine: tuple[AsyncEngine, ContactSettings]
    ) -> None:
        """On the asyncpg connection directly they would commit on their own, outside the lock's."""
        db, _ = engine
        async with AsyncSession(db) as session:
            with pytest.raises(RuntimeError, match="belongs in a transaction"):
                await PermitRepository(session).add(permit(1, MORNING))
            driver = await session_driver(session)
            with pytest.raises(RuntimeError, match="belongs in a transaction"):
                await DecisionInputsRepository(driver).lock_and_load(
                    "C1", MORNING, MORNING + timedelta(days=1)
                )
            with pytest.raises(RuntimeError, match="in the transaction that holds the debtor's lock"):
                await store_decision(driver, permit(1, MORNING), None)
        async with AsyncSession(db) as session:
            assert await PermitRepository(session).count_decisions() == 0


class TestTheLockBeforeTheRead:
    async def test_a_second_reservation_waits_for_the_first_to_commit_and_then_sees_its_permit(
        self, engine: tuple[AsyncEngine, ContactSettings]
    ) -> None:
        """cn-seed allows 3 attempts a day; two are used. The first reservation for the last one
        holds the debtor's lock until it commits; the second waits for it and, reading after the
        lock, counts the first one's permit and is refused."""
        db, settings = engine
        await apply(db, settings, opened("A1", "C1"))

        def request(minute: int) -> PermitRequest:
            at = datetime(2026, 3, 2, 3, minute, tzinfo=UTC)  # 11:00 in Shanghai, the default zone
            return PermitRequest("A1", Channel.SMS, "+8613800000001", at)

        async def reserve_on(driver: Any, minute: int) -> PermitRow:
            return await decide_and_store(
                driver,
                pack=settings.pack,
                source="test",
                request=request(minute),
                requested_by="t",
                customer_id="C1",
            )

        async with pooled_driver(db) as first, pooled_driver(db) as second:
            for minute in range(2):
                async with first.transaction():
                    assert (await reserve_on(first, minute)).allowed
            last = first.transaction()
            await last.start()
            assert (await reserve_on(first, 10)).allowed
            async with second.transaction():
                waiting = asyncio.create_task(reserve_on(second, 11))
                await asyncio.sleep(0.5)
                assert not waiting.done()  # held by the first one's lock
                await last.commit()
                refused = await waiting
        assert not refused.allowed and refused.rule == "daily_attempts"

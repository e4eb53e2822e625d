"""The contact service against a real PostgreSQL: consumers, the permit reservation, outcomes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from collections_common.events import EventTypes
from collections_common.runtime.outbox import lane_of
from contact_service.bootstrap import SERVICE
from contact_service.domain.compliance import PermitRequest
from contact_service.domain.contact import Channel
from contact_service.permits import reserve
from contact_service.settings import ContactSettings
from devstack.stack import Stack
from tests.auth_tokens import StaffTokens
from tests.contact_harness import ContactApi, apply, emitted, event, opened, stage_changed

pytestmark = [pytest.mark.infra]

# 11:00 in Shanghai on a Monday: inside the hours of every pack.
MORNING = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


@pytest.fixture
def database(stack: Stack, namespace: str) -> str:
    name = f"{namespace}_contact"
    stack.create_database(name)
    SERVICE.migrate(ContactSettings(database_url=stack.database_url(name)))
    return name


@pytest.fixture
def settings(stack: Stack, database: str) -> ContactSettings:
    return ContactSettings(database_url=stack.database_url(database))


async def rows(engine: AsyncEngine, sql: str, **params: object) -> list[tuple[object, ...]]:
    async with engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(text(sql), params)]


class TestConsumers:
    async def test_entering_m1_lays_out_the_plan_and_a_cure_cancels_it_with_the_reason(
        self, engine: AsyncEngine, settings: ContactSettings
    ) -> None:
        await apply(
            engine, settings, opened("A1", "C1"), stage_changed("A1", "C1", "M1", time=MORNING.isoformat())
        )
        planned = await rows(engine, "SELECT channel, status FROM planned_contacts ORDER BY due_at, id")
        assert ("sms", "pending") in planned and ("email", "pending") in planned
        assert await rows(engine, "SELECT stage FROM cases") == [("M1",)]

        await apply(
            engine, settings, stage_changed("A1", "C1", "CURRENT", from_stage="M1", as_of="2026-03-03")
        )
        statuses = await rows(engine, "SELECT DISTINCT status, cancel_reason FROM planned_contacts")
        assert statuses == [("cancelled", "cured")]

    async def test_a_plan_laid_out_before_the_opening_moves_to_the_debtors_timezone(
        self, engine: AsyncEngine, settings: ContactSettings
    ) -> None:
        """Stage changes and openings come on different topics: either may be read first."""
        # 00:00 in New York and 05:00 UTC: the same local day in the zone assumed and the real one
        entered = datetime(2026, 3, 2, 5, 0, tzinfo=UTC).isoformat()
        for account, customer, stage in (("A1", "C1", "M1"), ("A2", "C2", "M2")):
            await apply(
                engine,
                settings,
                opened(account, customer, timezone="America/New_York"),
                stage_changed(account, customer, stage, time=entered),
            )
        for account, customer, stage in (("A3", "C3", "M1"), ("A4", "C4", "M2")):
            await apply(engine, settings, stage_changed(account, customer, stage, time=entered))
            await apply(engine, settings, opened(account, customer, timezone="America/New_York"))
        plans = {
            customer: await rows(
                engine,
                "SELECT channel, step, due_at, next_try_at FROM planned_contacts WHERE customer_id = :c"
                " UNION ALL SELECT 'call', step, due_at, not_before FROM call_tasks WHERE customer_id = :c"
                " ORDER BY 3, 2, 1",
                c=customer,
            )
            for customer in ("C1", "C2", "C3", "C4")
        }
        assert plans["C1"] and plans["C2"]
        assert plans["C3"] == plans["C1"]
        assert plans["C4"] == plans["C2"]

    async def test_a_debtor_back_in_a_stage_the_same_day_gets_its_plan_again(
        self, engine: AsyncEngine, settings: ContactSettings
    ) -> None:
        """Cured, then delinquent again; moved on, then back: the stage's plan is pending again."""
        at = MORNING.isoformat()
        pending = (
            "SELECT id, channel, due_at FROM planned_contacts WHERE status = 'pending' ORDER BY due_at, id"
        )
        await apply(engine, settings, opened("A1", "C1"), stage_changed("A1", "C1", "M1", time=at))
        first = await rows(engine, pending)
        assert first
        await apply(
            engine,
            settings,
            stage_changed("A1", "C1", "CURRENT", from_stage="M1", as_of="2026-03-02", time=at),
            stage_changed("A1", "C1", "M1", as_of="2026-03-02", time=at),
        )
        assert await rows(engine, pending) == first, "the same contacts, pending once more"
        await apply(
            engine,
            settings,
            stage_changed("A1", "C1", "M2", dpd=31, time=at),
            stage_changed("A1", "C1", "M1", from_stage="M2", time=at),
        )
        assert await rows(engine, pending) == first
        calls = await rows(engine, "SELECT count(*) FROM call_tasks WHERE status = 'pending'")
        assert calls == [(0,)], "M2's call tasks went with M2"

    async def test_a_stop_flag_cancels_pending_contacts_and_call_tasks(
        self, engine: AsyncEngine, settings: ContactSettings
    ) -> None:
        await apply(
            engine, settings, opened("A1", "C1"), stage_changed("A1", "C1", "M2", time=MORNING.isoformat())
        )
        assert await rows(engine, "SELECT count(*) FROM call_tasks WHERE status = 'pending'") != [(0,)]
        flag = event("corebank.account.updated", {"account_id": "A1", "flags": {"dispute": True}})
        await apply(engine, settings, flag)
        pending = await rows(
            engine,
            "SELECT (SELECT count(*) FROM call_tasks WHERE status = 'pending')"
            " + (SELECT count(*) FROM planned_contacts WHERE status = 'pending')",
        )
        assert pending == [(0,)]
        assert await rows(engine, "SELECT DISTINCT cancel_reason FROM call_tasks") == [("stop_flag:dispute",)]

    async def test_an_agreed_restructuring_stops_contact(
        self, engine: AsyncEngine, settings: ContactSettings
    ) -> None:
        await apply(
            engine, settings, opened("A1", "C1"), stage_changed("A1", "C1", "M3", time=MORNING.isoformat())
        )
        agreed = event(
            "collections.restructuring.agreed",
            {
                "offer_id": "O1",
                "account_id": "A1",
                "customer_id": "C1",
                "total_minor": 100_000,
                "currency": "CNY",
                "instalments": 1,
                "schedule": [{"due_date": "2026-04-01", "amount_minor": 100_000}],
                "agreed_at": MORNING.isoformat(),
            },
        )
        await apply(engine, settings, agreed)
        assert await rows(engine, "SELECT DISTINCT cancel_reason FROM call_tasks") == [("restructuring",)]


async def _permit(
    client: httpx.AsyncClient,
    api: ContactApi,
    at: datetime,
    headers: dict[str, str] | None = None,
    **extra: object,
) -> httpx.Response:
    body = {
        "account_id": "A1",
        "channel": "sms",
        "contact_point": "+8613800000001",
        "at": at.isoformat(),
        **extra,
    }
    return await client.post(
        f"{api.url}/v1/contact-permits", json=body, headers=headers or api.headers("collector")
    )


@pytest.fixture
def api(stack: Stack, database: str, tmp_path: Path) -> Iterator[ContactApi]:
    base = tmp_path
    tokens = StaffTokens(base / "jwks.json")
    started = ContactApi(
        stack, database, tokens, base, {"PERMIT_SERVICE_SUBJECTS": '["agency-gateway"]'}
    ).start()
    try:
        yield started
    finally:
        started.stop()


class TestPermitApi:
    async def test_64_clients_racing_for_the_last_slot_exactly_one_wins(
        self, engine: AsyncEngine, settings: ContactSettings, api: ContactApi
    ) -> None:
        await apply(engine, settings, opened("A1", "C1"))
        async with httpx.AsyncClient(timeout=30) as client:
            for minute in range(2):  # cn-seed: 3 attempts a day; two used
                assert (await _permit(client, api, MORNING + timedelta(minutes=minute))).json()["allowed"]
            headers = api.headers("collector")  # minted once: the 64 requests leave together
            answers = await asyncio.gather(
                *(
                    _permit(client, api, MORNING + timedelta(minutes=10, seconds=i), headers)
                    for i in range(64)
                )
            )
        assert {answer.status_code for answer in answers} == {201}
        decisions = [answer.json() for answer in answers]
        assert sum(d["allowed"] for d in decisions) == 1
        refused = [d for d in decisions if not d["allowed"]]
        assert {d["rule"] for d in refused} == {"daily_attempts"}
        assert all(d["retry_after"] is not None for d in refused)
        stored = await rows(engine, "SELECT allowed, count(*) FROM permits GROUP BY allowed ORDER BY allowed")
        assert stored == [(False, 63), (True, 3)]
        # each refusal's permit.blocked event was committed with it, keyed by the account
        blocked = [e["data"] for e in await emitted(engine, EventTypes.PERMIT_BLOCKED)]
        assert sorted(b["permit_id"] for b in blocked) == sorted(d["permit_id"] for d in refused)
        assert {(b["rule"], b["account_id"], b["customer_id"]) for b in blocked} == {
            ("daily_attempts", "A1", "C1")
        }
        assert await rows(engine, "SELECT DISTINCT lane, key FROM outbox") == [(lane_of(b"A1"), b"A1")]

    async def test_outcomes_unknown_404_different_409_same_again_the_first_answer(
        self, engine: AsyncEngine, settings: ContactSettings, api: ContactApi
    ) -> None:
        await apply(engine, settings, opened("A1", "C1"))
        headers = api.headers("collector")
        async with httpx.AsyncClient(timeout=30) as client:
            permit = (await _permit(client, api, MORNING, channel="call", autodialled=False)).json()
            url = f"{api.url}/v1/contact-permits/{permit['permit_id']}/outcome"
            report = {
                "outcome": "no_answer",
                "at": (MORNING + timedelta(minutes=1)).isoformat(),
                "recording_ref": "r1",
            }
            first = await client.post(url, json=report, headers=headers)
            again = await client.post(url, json=report, headers=headers)
            different = await client.post(url, json={**report, "outcome": "reached"}, headers=headers)
            unknown = await client.post(
                f"{api.url}/v1/contact-permits/nope/outcome", json=report, headers=headers
            )
        assert first.status_code == 200 and first.json()["outcome"] == "no_answer"
        assert again.status_code == 200 and again.json() == first.json()
        assert different.status_code == 409
        assert unknown.status_code == 404

    async def test_an_unanswered_permit_counts_as_unknown_after_its_hold_and_a_late_outcome_replaces_it(
        self, engine: AsyncEngine, settings: ContactSettings, api: ContactApi
    ) -> None:
        await apply(engine, settings, opened("A1", "C1"))
        past = datetime.now(UTC) - timedelta(hours=1)
        headers = api.headers("supervisor")
        async with httpx.AsyncClient(timeout=30) as client:
            permit = (await _permit(client, api, past)).json()
            case = (await client.get(f"{api.url}/v1/cases/C1", headers=headers)).json()
            late = await client.post(
                f"{api.url}/v1/contact-permits/{permit['permit_id']}/outcome",
                json={"outcome": "delivered"},
                headers=headers,
            )
        # The history shows it as unknown (the hold is long over); the late outcome replaces it.
        entries = {e["permit_id"]: e for e in case["history"]["items"]}
        if permit["allowed"]:
            assert entries[permit["permit_id"]]["outcome"] == "unknown"
            assert late.status_code == 200 and late.json()["outcome"] == "delivered"

    async def test_callers_are_staff_with_a_role_or_an_allow_listed_service(
        self, engine: AsyncEngine, settings: ContactSettings, api: ContactApi
    ) -> None:
        await apply(engine, settings, opened("A1", "C1"))
        body = {
            "account_id": "A1",
            "channel": "sms",
            "contact_point": "+8613800000001",
            "at": MORNING.isoformat(),
        }
        async with httpx.AsyncClient(timeout=30) as client:
            url = f"{api.url}/v1/contact-permits"
            none = await client.post(url, json=body)
            legal = await client.post(url, json=body, headers=api.headers("legal"))
            gateway = await client.post(
                url,
                json={**body, "party": {"kind": "agency", "id": "AG1"}},
                headers=api.headers(subject="agency-gateway"),
            )
            unknown_account = await client.post(
                url, json={**body, "account_id": "ZZ"}, headers=api.headers("collector")
            )
            bad = await client.post(url, json={**body, "channel": "fax"}, headers=api.headers("collector"))
        assert none.status_code == 401
        assert legal.status_code == 403
        assert gateway.status_code == 201 and gateway.json()["party"] == {"kind": "agency", "id": "AG1"}
        assert unknown_account.status_code == 404
        assert bad.status_code == 422


class TestReservation:
    async def test_64_concurrent_transactions_for_the_last_slot_leave_exactly_one_allowed(
        self, engine: AsyncEngine, settings: ContactSettings
    ) -> None:
        await apply(engine, settings, opened("A1", "C1"))

        async def one(offset: int) -> bool:
            async with AsyncSession(engine) as session, session.begin():
                row = await reserve(
                    session,
                    pack=settings.pack,
                    source="test",
                    request=PermitRequest(
                        "A1", Channel.SMS, "+8613800000001", MORNING + timedelta(seconds=offset)
                    ),
                    requested_by="test",
                )
                return row.allowed

        assert await one(0) and await one(1)
        allowed = await asyncio.gather(*(one(10 + i) for i in range(64)))
        assert sum(allowed) == 1

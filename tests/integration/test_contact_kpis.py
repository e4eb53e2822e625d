"""Promise-kept rate and contacts per cure on a real PostgreSQL: promise, permit, case and cure
rows in, the route's and the gauges' figures out, compared with figures worked out by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from contact_service.adapters.cases import CaseRepository
from contact_service.adapters.orm import cases, cures, permits, promises
from contact_service.adapters.stage_writes import Cure, write_stage_changes
from contact_service.bootstrap import SERVICE, create_api
from contact_service.kpi_gauges import KpiGauges
from contact_service.settings import ContactSettings
from devstack.stack import Stack
from tests.auth_tokens import AUDIENCE, ISSUER, StaffTokens

pytestmark = [pytest.mark.infra]

DECIDED = [("P1", "2026-01-10", "kept"), ("P2", "2026-01-20", "kept"), ("P3", "2026-01-31", "broken")]
DECIDED += [("P4", "2026-02-01", "broken"), ("P5", None, "open"), ("P6", "2026-03-01", "kept")]
TIMEZONES = {"C1": "Asia/Shanghai", "C2": "America/New_York"}
PERMITS = [  # debtor, at (UTC), allowed
    ("C1", "2026-01-31T17:00:00", True),
    ("C1", "2026-01-15T02:00:00", True),
    ("C1", "2026-01-16T02:00:00", False),
    ("C2", "2026-03-01T03:00:00", True),
    ("C2", "2026-02-10T15:00:00", True),
    ("C3", "2026-01-20T10:00:00", True),
]
CURES = [("A1", "2026-01-05"), ("A2", "2026-01-25"), ("A3", "2026-02-28")]


@pytest.fixture
def tokens(tmp_path: Path) -> StaffTokens:
    return StaffTokens(tmp_path / "jwks.json")


@pytest.fixture
async def setup(
    stack: Stack, namespace: str, tokens: StaffTokens
) -> AsyncIterator[tuple[AsyncEngine, ContactSettings, httpx.AsyncClient]]:
    url = stack.create_database(f"{namespace}_contact")
    settings = ContactSettings(
        environment="test",
        database_url=url,
        auth_jwks_url=str(tokens.jwks_path),
        auth_issuer=ISSUER,
        auth_audience=AUDIENCE,
    )
    SERVICE.migrate(settings)
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(insert(cases), [{"customer_id": c, "timezone": tz} for c, tz in TIMEZONES.items()])
        await conn.execute(
            insert(promises),
            [
                {
                    "promise_id": promise,
                    "customer_id": "C1",
                    "account_id": "A1",
                    "amount_minor": 1_000,
                    "currency": "CNY",
                    "made_on": date(2026, 1, 2),
                    "due_on": date(2026, 1, 9),
                    "status": status,
                    "party_kind": "debtor",
                    "made_at": datetime(2026, 1, 2, tzinfo=UTC),
                    "decided_as_of": None if day is None else date.fromisoformat(day),
                }
                for promise, day, status in DECIDED
            ],
        )
        await conn.execute(
            insert(permits),
            [
                {
                    "permit_id": f"PM{n}",
                    "customer_id": debtor,
                    "account_id": f"A-{debtor}",
                    "channel": "call",
                    "contact_point": "+8613800000000",
                    "party_kind": "debtor",
                    "autodialled": False,
                    "purpose": "collect",
                    "at": datetime.fromisoformat(at).replace(tzinfo=UTC),
                    "pack": "cn-seed",
                    "allowed": allowed,
                }
                for n, (debtor, at, allowed) in enumerate(PERMITS)
            ],
        )
    async with AsyncSession(engine) as session, session.begin():
        await CaseRepository(session).lock("C1")
        await write_stage_changes(
            session,
            cancelled={},
            stages=[],
            accounts=[],
            cured=[Cure(account, date.fromisoformat(day), "C1", "M1", account) for account, day in CURES],
        )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_api(settings)), base_url="http://contact"
    ) as client:
        yield engine, settings, client
    await engine.dispose()


def auth(tokens: StaffTokens, *roles: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.token(*roles)}"}


class TestContactKpisRoute:
    async def test_the_figures_of_two_months(self, setup: Any, tokens: StaffTokens) -> None:
        """Promises decided: January 2 kept (01-10, 01-20) and 1 broken (01-31) -> 2/3; February
        1 broken (02-01) -> 0; an open promise and one decided in March do not count.

        Attempts (allowed permits by the debtor's local date): C1 (Shanghai) 01-15 02:00Z -> Jan;
        01-31 17:00Z is 02-01 01:00 in Shanghai -> Feb; 01-16 was refused -> none. C2 (New York)
        03-01 03:00Z is 02-28 22:00 there -> Feb; 02-10 -> Feb. C3 has no case (UTC) 01-20 -> Jan.
        January 2, February 3 (by UTC dates it would be 3 and 1). Cures: 01-05, 01-25 -> January 2;
        02-28 -> February 1. Contacts per cure: January 2/2 = 1, February 3/1 = 3.
        """
        _, _, client = setup
        answer = await client.get(
            "/v1/kpis/contact",
            params={"from": "2026-01", "to": "2026-02"},
            headers=auth(tokens, "supervisor"),
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["months"] == [
            {
                "month": "2026-01",
                "promises_kept": 2,
                "promises_broken": 1,
                "promise_kept_rate": 0.666667,
                "attempts": 2,
                "cures": 2,
                "contacts_per_cure": 1.0,
            },
            {
                "month": "2026-02",
                "promises_kept": 0,
                "promises_broken": 1,
                "promise_kept_rate": 0.0,
                "attempts": 3,
                "cures": 1,
                "contacts_per_cure": 3.0,
            },
        ]

    async def test_staff_only_and_precise_422s(self, setup: Any, tokens: StaffTokens) -> None:
        _, _, client = setup
        params = {"from": "2026-01", "to": "2026-01"}
        assert (await client.get("/v1/kpis/contact", params=params)).status_code == 401
        for role, status in (("collector", 403), ("auditor", 200), ("supervisor", 200)):
            answer = await client.get("/v1/kpis/contact", params=params, headers=auth(tokens, role))
            assert answer.status_code == status, role
        for bad in (
            {"from": "2026-02", "to": "2026-01"},
            {"from": "2020-01", "to": "2026-01"},
            {"from": "x"},
        ):
            answer = await client.get("/v1/kpis/contact", params=bad, headers=auth(tokens, "auditor"))
            assert answer.status_code == 422, bad


class TestCures:
    async def test_a_cure_is_recorded_once(self, setup: Any) -> None:
        engine, _, _ = setup
        async with AsyncSession(engine) as session, session.begin():
            await CaseRepository(session).lock("C1")
            again = Cure("A1", date(2026, 1, 5), "C1", "M2", "again")
            await write_stage_changes(session, cancelled={}, stages=[], accounts=[], cured=[again])
            query = select(cures.c.event_id).where(cures.c.account_id == "A1")
            rows = (await session.execute(query)).all()
        assert [row.event_id for row in rows] == ["A1"]


class TestKpiGauges:
    async def test_the_gauges_show_the_month_of_the_contact_clock(self, setup: Any) -> None:
        """The clock moved to 2026-01-20: January's figures (2/3 and 1)."""
        engine, settings, _ = setup
        offset = (datetime(2026, 1, 20, tzinfo=UTC) - datetime.now(UTC)).total_seconds()
        moved = settings.model_copy(update={"clock_offset_seconds": offset})
        figures = await KpiGauges(moved, engine).refresh()
        assert str(figures.month) == "2026-01"
        assert REGISTRY.get_sample_value("collections_kpi_promise_kept_rate") == pytest.approx(2 / 3)
        assert REGISTRY.get_sample_value("collections_kpi_contacts_per_cure") == 1.0

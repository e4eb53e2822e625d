"""The agency recovery KPI on a real PostgreSQL: registry, placements and payments rows in, the
route's and the gauge's figures out, compared with figures worked out by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from devstack.stack import Stack
from escalation_service.adapters.orm import agencies, business_clock, payments, placements
from escalation_service.bootstrap import SERVICE, create_api
from escalation_service.kpi_gauges import KpiGauges
from escalation_service.settings import EscalationSettings
from tests.auth_tokens import AUDIENCE, ISSUER, StaffTokens

pytestmark = [pytest.mark.infra]

PLACED = [
    # placement, agency, debtor, placed on, ends on, recalled on, past due at placement
    ("P1", "AG1", "C1", "2026-01-10", "2026-04-10", None, 10_000),
    ("P2", "AG1", "C2", "2026-03-01", "2026-06-01", "2026-03-20", 6_000),
    ("P3", "AG1", "C3", "2025-06-30", "2025-09-30", None, 50_000),
    ("P4", "AG2", "C4", "2026-06-01", "2026-09-01", None, 8_000),
]
PAID = [
    # debtor, value date, amount, reversed
    ("C1", "2026-01-20", 3_000, False),
    ("C1", "2026-02-15", 2_000, False),
    ("C1", "2026-05-01", 4_000, False),
    ("C2", "2026-03-05", 8_000, False),
    ("C2", "2026-03-20", 1_000, False),
    ("C3", "2025-07-01", 50_000, False),
    ("C4", "2026-06-15", 2_000, False),
    ("C4", "2026-06-20", 5_000, True),
    ("C4", "2026-07-05", 3_000, False),
]


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


@pytest.fixture
def tokens(tmp_path: Path) -> StaffTokens:
    return StaffTokens(tmp_path / "jwks.json")


@pytest.fixture
async def setup(
    stack: Stack, namespace: str, tokens: StaffTokens
) -> AsyncIterator[tuple[AsyncEngine, EscalationSettings, httpx.AsyncClient]]:
    url = stack.create_database(f"{namespace}_escalation")
    settings = EscalationSettings(
        environment="test",
        database_url=url,
        auth_jwks_url=str(tokens.jwks_path),
        auth_issuer=ISSUER,
        auth_audience=AUDIENCE,
    )
    SERVICE.migrate(settings)
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(
            insert(agencies),
            [
                {
                    "agency_id": agency,
                    "name": agency,
                    "regions": ["Shanghai"],
                    "capacity": 10,
                    "active": True,
                    "contract_start": date(2025, 1, 1),
                    "contract_end": date(2027, 12, 31),
                    "review_due": date(2026, 12, 31),
                    "event_id": f"reg-{agency}",
                }
                for agency in ("AG1", "AG2", "AG3")
            ],
        )
        await conn.execute(
            insert(placements),
            [
                {
                    "placement_id": placement,
                    "decision_key": f"d-{placement}",
                    "rule_id": "agency",
                    "agency_id": agency,
                    "customer_id": debtor,
                    "account_id": f"A-{debtor}",
                    "placed_on": _day(placed),
                    "ends_on": _day(ends),
                    "recalled_on": _day(recalled),
                    "past_due_at_placement_minor": owed,
                    "currency": "CNY",
                }
                for placement, agency, debtor, placed, ends, recalled, owed in PLACED
            ],
        )
        await conn.execute(
            insert(payments),
            [
                {
                    "account_id": f"A-{debtor}",
                    "payment_id": f"PAY{n}",
                    "customer_id": debtor,
                    "amount_minor": amount,
                    "value_date": _day(day),
                    "reversed": reversed_,
                }
                for n, (debtor, day, amount, reversed_) in enumerate(PAID)
            ],
        )
        await conn.execute(insert(business_clock).values(id=1, closed_through=date(2026, 6, 29)))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_api(settings)), base_url="http://escalation"
    ) as client:
        yield engine, settings, client
    await engine.dispose()


def auth(tokens: StaffTokens, *roles: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.token(*roles)}"}


class TestAgencyRecoveryRoute:
    async def test_the_figures_of_a_small_book(self, setup: Any, tokens: StaffTokens) -> None:
        """Closed through 2026-06-29, so escalation's business day is 2026-06-30; the window is the
        default 365 days (placements placed after 2025-06-30).

        AG1  P1 (C1, 2026-01-10 until 2026-04-10, owed 10,000): 3,000 + 2,000 count, 4,000 on
             05-01 is after the end. P2 (C2, 2026-03-01, recalled 03-20, owed 6,000): 8,000 on 03-05
             counts up to 6,000; 1,000 on the recall day does not. P3 was placed on the window's
             start: outside. (5,000 + 6,000) / 16,000 = 11/16 = 0.6875, 2 placements.
        AG2  P4 (C4, 2026-06-01, owed 8,000): 2,000 on 06-15; 5,000 on 06-20 was reversed; 3,000
             on 07-05 is after the business day. 2,000 / 8,000 = 1/4, 1 placement.
        AG3  never placed: no rate.
        """
        _, _, client = setup
        answer = await client.get("/v1/kpis/agency-recovery", headers=auth(tokens, "auditor"))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["as_of"], body["window_days"]) == ("2026-06-30", 365)
        assert body["agencies"] == [
            {"agency_id": "AG1", "placements": 2, "rate": 0.6875, "rate_exact": "11/16"},
            {"agency_id": "AG2", "placements": 1, "rate": 0.25, "rate_exact": "1/4"},
            {"agency_id": "AG3", "placements": 0, "rate": None, "rate_exact": None},
        ]

    async def test_as_of_an_earlier_day(self, setup: Any, tokens: StaffTokens) -> None:
        """As of 2026-03-10 the window starts after 2025-03-10, so P3 counts too: placed 2025-06-30,
        owed 50,000, paid 50,000 on 2025-07-01. AG1: P1 5,000 of 10,000, P2 8,000 capped at 6,000,
        P3 50,000: (5,000 + 6,000 + 50,000) / (10,000 + 6,000 + 50,000) = 61/66. AG2's P4 is not
        placed yet: no rate."""
        _, _, client = setup
        answer = await client.get(
            "/v1/kpis/agency-recovery", params={"as_of": "2026-03-10"}, headers=auth(tokens, "supervisor")
        )
        rates = {a["agency_id"]: a["rate_exact"] for a in answer.json()["agencies"]}
        assert rates == {"AG1": "61/66", "AG2": None, "AG3": None}

    async def test_staff_only_supervisors_and_auditors(self, setup: Any, tokens: StaffTokens) -> None:
        _, _, client = setup
        assert (await client.get("/v1/kpis/agency-recovery")).status_code == 401
        for role, status in (("collector", 403), ("legal", 403), ("auditor", 200), ("supervisor", 200)):
            answer = await client.get("/v1/kpis/agency-recovery", headers=auth(tokens, role))
            assert answer.status_code == status, role
        bad = await client.get(
            "/v1/kpis/agency-recovery", params={"as_of": "2026-02-30"}, headers=auth(tokens, "auditor")
        )
        assert bad.status_code == 422


class TestKpiGauges:
    async def test_the_gauge_per_agency(self, setup: Any) -> None:
        engine, settings, _ = setup
        await KpiGauges(settings, engine).refresh()
        rate = REGISTRY.get_sample_value
        assert rate("collections_kpi_agency_recovery_rate", {"agency": "AG1"}) == 0.6875
        assert rate("collections_kpi_agency_recovery_rate", {"agency": "AG2"}) == 0.25
        ag3 = rate("collections_kpi_agency_recovery_rate", {"agency": "AG3"})
        assert ag3 is not None and ag3 != ag3  # NaN: no rate

"""Roll rates and the cure rate on a real PostgreSQL: stage history rows in, the route's figures
out, compared with figures worked out by hand; the gauges of the latest closed month-ends."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from aging_service.adapters.orm import partition_clocks, stage_changes, statements
from aging_service.bootstrap import SERVICE
from aging_service.kpi_gauges import KpiGauges
from aging_service.settings import AgingSettings
from devstack.stack import Stack
from tests.auth_tokens import AUDIENCE, ISSUER, StaffTokens

pytestmark = [pytest.mark.infra]

STATEMENTS = {
    "A1": "2026-01-05",
    "A2": "2026-01-05",
    "A3": "2026-01-05",
    "A4": "2026-02-05",
    "A5": "2025-12-05",
}
CHANGES = [
    ("A5", "2025-12-26", "CURRENT", "M1"),
    ("A2", "2026-01-20", "CURRENT", "M1"),
    ("A5", "2026-01-25", "M1", "M2"),
    ("A1", "2026-02-10", "CURRENT", "M1"),
    ("A2", "2026-02-15", "M1", "CURRENT"),
    ("A5", "2026-02-24", "M2", "M3"),
    ("A4", "2026-02-26", "CURRENT", "M1"),
    ("A1", "2026-03-12", "M1", "M2"),
    ("A4", "2026-03-31", "M1", "M2"),
    ("A5", "2026-04-01", "M3", "CURRENT"),
]


@pytest.fixture
def tokens(tmp_path: Path) -> StaffTokens:
    return StaffTokens(tmp_path / "jwks.json")


@pytest.fixture
async def setup(
    stack: Stack, namespace: str, tokens: StaffTokens
) -> AsyncIterator[tuple[AsyncEngine, AgingSettings, httpx.AsyncClient]]:
    url = stack.create_database(f"{namespace}_aging")
    settings = AgingSettings(
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
            insert(statements),
            [
                {
                    "account_id": account,
                    "statement_id": f"S-{account}",
                    "statement_date": date.fromisoformat(day),
                    "due_date": date.fromisoformat(day).replace(day=25),
                    "minimum_due_minor": 10_000,
                    "statement_balance_minor": 100_000,
                    "event_id": f"st-{account}",
                }
                for account, day in STATEMENTS.items()
            ],
        )
        await conn.execute(
            insert(stage_changes),
            [
                {
                    "account_id": account,
                    "from_stage": before,
                    "to_stage": after,
                    "dpd": 0,
                    "past_due_minor": 0,
                    "as_of": date.fromisoformat(day),
                    "cause": "day_closed",
                    "cause_event_id": f"c{n}",
                    "event_id": f"e{n}",
                }
                for n, (account, day, before, after) in enumerate(CHANGES)
            ],
        )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=SERVICE.create_api(settings)), base_url="http://aging"
    ) as client:
        yield engine, settings, client
    await engine.dispose()


def auth(tokens: StaffTokens, *roles: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.token(*roles)}"}


def _rolls(period: dict[str, Any]) -> list[tuple[str, str, int, int, float | None]]:
    return [
        (r["from_stage"], r["to_stage"], r["accounts"], r["rolled"], r["rate"]) for r in period["roll_rates"]
    ]


class TestRollRatesRoute:
    async def test_the_figures_of_a_small_portfolio(self, setup: Any, tokens: StaffTokens) -> None:
        """Five accounts (first statement; stage changes as_of from -> to), month-ends 2026-01-31,
        2026-02-28, 2026-03-31:

        A1  statement 2026-01-05; 02-10 CURRENT->M1, 03-12 M1->M2     Jan CURRENT, Feb M1, Mar M2
        A2  statement 2026-01-05; 01-20 CURRENT->M1, 02-15 M1->CURRENT Jan M1, Feb CURRENT, Mar CURRENT
        A3  statement 2026-01-05; no change                             CURRENT throughout
        A4  statement 2026-02-05; 02-26 CURRENT->M1, 03-31 M1->M2     not billed by Jan; Feb M1, Mar M2
            (a change on the month-end itself counts at that month-end)
        A5  statement 2025-12-05; 12-26 CURRENT->M1, 01-25 M1->M2, 02-24 M2->M3, 04-01 M3->CURRENT
            Jan M2, Feb M3, Mar M3 (April is later)

        Jan -> Feb (A1, A2, A3, A5): CURRENT 2 (A1, A3), 1 rolled to M1 = 0.5; M1 1 (A2), 0 rolled = 0.0;
          M2 1 (A5), 1 rolled to M3 = 1.0; M3 0 = null. Cure: delinquent 2 (A2, A5), cured 1 (A2) = 0.5.
        Feb -> Mar (A1..A5): CURRENT 2 (A2, A3), 0 rolled = 0.0; M1 2 (A1, A4), 2 rolled to M2 = 1.0;
          M2 0 = null; M3 1 (A5), 0 rolled to M3+ = 0.0. Cure: delinquent 3 (A1, A4, A5), cured 0 = 0.0.
        """
        _, _, client = setup
        answer = await client.get(
            "/v1/kpis/roll-rates",
            params={"from": "2026-01", "to": "2026-03"},
            headers=auth(tokens, "supervisor"),
        )
        assert answer.status_code == 200, answer.text
        jan_feb, feb_mar = answer.json()["periods"]
        assert (jan_feb["from_month_end"], jan_feb["to_month_end"]) == ("2026-01-31", "2026-02-28")
        assert _rolls(jan_feb) == [
            ("CURRENT", "M1", 2, 1, 0.5),
            ("M1", "M2", 1, 0, 0.0),
            ("M2", "M3", 1, 1, 1.0),
            ("M3", "M3+", 0, 0, None),
        ]
        assert jan_feb["cure_rate"] == {"delinquent": 2, "cured": 1, "rate": 0.5}
        assert (feb_mar["from_month_end"], feb_mar["to_month_end"]) == ("2026-02-28", "2026-03-31")
        assert _rolls(feb_mar) == [
            ("CURRENT", "M1", 2, 0, 0.0),
            ("M1", "M2", 2, 2, 1.0),
            ("M2", "M3", 0, 0, None),
            ("M3", "M3+", 1, 0, 0.0),
        ]
        assert feb_mar["cure_rate"] == {"delinquent": 3, "cured": 0, "rate": 0.0}

    async def test_staff_only_supervisors_and_auditors(self, setup: Any, tokens: StaffTokens) -> None:
        _, _, client = setup
        params = {"from": "2026-01", "to": "2026-02"}
        assert (await client.get("/v1/kpis/roll-rates", params=params)).status_code == 401
        for role, status in (
            ("collector", 403),
            ("agency_admin", 403),
            ("auditor", 200),
            ("supervisor", 200),
        ):
            answer = await client.get("/v1/kpis/roll-rates", params=params, headers=auth(tokens, role))
            assert answer.status_code == status, role

    @pytest.mark.parametrize(
        "params",
        [
            {"from": "2026-03", "to": "2026-03"},
            {"from": "2026-03", "to": "2026-01"},
            {"from": "2020-01", "to": "2026-01"},
            {"from": "2026-13", "to": "2027-01"},
            {"from": "2026-1", "to": "2026-03"},
            {"to": "2026-03"},
        ],
    )
    async def test_months_out_of_order_malformed_or_too_many_are_422(
        self, setup: Any, tokens: StaffTokens, params: dict[str, str]
    ) -> None:
        _, _, client = setup
        answer = await client.get("/v1/kpis/roll-rates", params=params, headers=auth(tokens, "auditor"))
        assert answer.status_code == 422, answer.text


class TestKpiGauges:
    async def test_the_gauges_show_the_latest_two_closed_month_ends(self, setup: Any) -> None:
        """Closed through 2026-04-10: the month-ends 2026-02-28 and 2026-03-31 (figures above)."""
        engine, settings, _ = setup
        async with engine.begin() as conn:
            await conn.execute(insert(partition_clocks).values(partition=0, closed_through=date(2026, 4, 10)))
        rates = await KpiGauges(engine, settings.policy).refresh()
        assert rates is not None and (rates.start, rates.end) == (date(2026, 2, 28), date(2026, 3, 31))

        def gauge(name: str, **labels: str) -> float | None:
            return REGISTRY.get_sample_value(name, labels)

        assert gauge("collections_kpi_roll_rate", from_stage="CURRENT", to_stage="M1") == 0.0
        assert gauge("collections_kpi_roll_rate", from_stage="M1", to_stage="M2") == 1.0
        assert math.isnan(gauge("collections_kpi_roll_rate", from_stage="M2", to_stage="M3") or 0.0)
        assert gauge("collections_kpi_roll_rate", from_stage="M3", to_stage="M3+") == 0.0
        assert gauge("collections_kpi_cure_rate") == 0.0

    async def test_before_any_close_the_gauges_are_left_alone(self, setup: Any) -> None:
        engine, settings, _ = setup
        assert await KpiGauges(engine, settings.policy).refresh() is None

"""The aging read API, against a real service fed through real topics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.stack import Stack
from tests.e2e.aging_harness import AgingUnderTest
from tests.golden import load_golden_cases

pytestmark = [pytest.mark.infra, pytest.mark.slow]

REVERSAL_AFTER_CURE = next(
    c for c in load_golden_cases() if c["name"] == "reversal after cure jumps straight to M2"
)


@pytest.fixture
async def aging(stack: Stack, topics: str, namespace: str, tmp_path: Path) -> Any:
    service = AgingUnderTest(stack, namespace, topics, tmp_path).start()
    try:
        await service.publish(REVERSAL_AFTER_CURE["events"])
        await service.settled()
        async with httpx.AsyncClient(base_url=service.api) as client:
            yield client
    finally:
        service.stop()


async def test_delinquency_shows_the_dues_and_payments_behind_the_figures(aging: httpx.AsyncClient) -> None:
    body = (await aging.get("/v1/accounts/ACC-1/delinquency")).json()
    assert body["stage"] == "M2" and body["dpd"] == 33 and body["as_of"] == "2026-02-27"
    assert body["customer_id"] == "CUS-1" and body["currency"] == "CNY"
    assert body["dues"] == [
        {
            "statement_id": "S1",
            "statement_date": "2026-01-05",
            "due_date": "2026-01-25",
            "amount_minor": 10000,
            "paid_minor": 0,
            "reaged_minor": 0,
            "unpaid_minor": 10000,
            "past_due": True,
        }
    ]
    assert body["payments"] == [
        {
            "payment_id": "P1",
            "value_date": "2026-01-27",
            "amount_minor": 10000,
            "reversed": True,
            "reversal_reason": "returned",
        }
    ]
    assert body["pending_reversals"] == []


async def test_stage_history_lists_every_change_with_its_cause(aging: httpx.AsyncClient) -> None:
    changes = (await aging.get("/v1/accounts/ACC-1/stage-history")).json()["changes"]
    assert [(c["from_stage"], c["to_stage"], c["cause"], c["as_of"]) for c in changes] == [
        ("CURRENT", "M1", "day_close", "2026-01-26"),
        ("M1", "CURRENT", "payment", "2026-01-26"),
        ("CURRENT", "M2", "payment_reversal", "2026-02-27"),
    ]
    assert [c["cause_event_id"] for c in changes] == ["evt-0019", "evt-0020", "evt-0022"]


async def test_portfolio_summary_now_and_as_of_a_past_date(aging: httpx.AsyncClient) -> None:
    def counts(body: dict[str, Any]) -> dict[str, int]:
        return {s["stage"]: s["accounts"] for s in body["stages"] if s["accounts"]}

    now = (await aging.get("/v1/portfolio/summary")).json()
    assert counts(now) == {"M2": 1}
    assert next(s for s in now["stages"] if s["stage"] == "M2")["past_due_minor"] == {"CNY": 10000}
    assert counts((await aging.get("/v1/portfolio/summary", params={"as_of": "2026-01-26"})).json()) == {
        "CURRENT": 1
    }
    assert counts((await aging.get("/v1/portfolio/summary", params={"as_of": "2026-02-27"})).json()) == {
        "M2": 1
    }


async def test_unknown_accounts_and_bad_parameters_get_precise_4xx(aging: httpx.AsyncClient) -> None:
    unknown = await aging.get("/v1/accounts/NOPE/delinquency")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    body = unknown.json()
    assert (body["status"], body["title"], body["detail"]) == (
        404,
        "Not found",
        "the account is unknown to aging",
    )
    assert body["type"].endswith("/not-found")
    assert (await aging.get("/v1/accounts/NOPE/stage-history")).status_code == 404
    too_long = await aging.get(f"/v1/accounts/{'A' * 65}/delinquency")
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["location"] == ["path", "account_id"]
    assert "A" * 65 not in too_long.text
    bad_date = await aging.get("/v1/portfolio/summary", params={"as_of": "2026-13-01"})
    assert bad_date.status_code == 422
    assert bad_date.json()["errors"][0]["location"] == ["query", "as_of"]
    assert "2026-13-01" not in bad_date.text

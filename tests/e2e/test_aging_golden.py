"""The golden aging cases, end to end: real topics, a real aging worker and API, real PostgreSQL.

Each case's events are published in order to the contract's topics; what comes out on
``collections.delinquency.v1``, what the read API reports and what lands in the dead-letter
topics must match the case's expectations exactly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from devstack.stack import Stack
from tests.e2e.aging_harness import AgingUnderTest
from tests.golden import load_golden_cases, shared_dir

pytestmark = [pytest.mark.infra, pytest.mark.slow]

CASES = load_golden_cases()
STAGE_CHANGED_SCHEMA = json.loads(
    (shared_dir() / "contracts" / "events" / "collections.stage.changed.schema.json").read_text()
)


def _config(case: dict[str, Any]) -> dict[str, str]:
    return {
        "GRACE_DAYS": str(case["config"]["grace_days"]),
        "TOLERANCE_MINOR": str(case["config"]["tolerance_minor"]),
    }


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
async def test_golden_case_end_to_end(
    case: dict[str, Any], stack: Stack, topics: str, namespace: str, tmp_path: Path
) -> None:
    aging = AgingUnderTest(stack, namespace, topics, tmp_path, config=_config(case)).start()
    try:
        await aging.publish(case["events"])
        await aging.settled()
        await _assert_outcome(aging, case["expect"], dead_letters=case["expect"]["dead_letters"])
    finally:
        aging.stop()


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
async def test_golden_case_with_every_event_delivered_twice(
    case: dict[str, Any], stack: Stack, topics: str, namespace: str, tmp_path: Path
) -> None:
    """A producer's retry or a replay sends an event again (same id, a new offset; sometimes in the
    same batch, sometimes later): the second copy changes nothing and emits nothing. Only bad
    input is refused each time it comes, so each dead letter appears twice."""
    aging = AgingUnderTest(stack, namespace, topics, tmp_path, config=_config(case)).start()
    try:
        await aging.publish([item for item in case["events"] for _ in range(2)])
        await aging.settled()
        await _assert_outcome(aging, case["expect"], dead_letters=case["expect"]["dead_letters"] * 2)
    finally:
        aging.stop()


async def _assert_outcome(aging: AgingUnderTest, expect: dict[str, Any], *, dead_letters: list[str]) -> None:
    emitted = [json.loads(value) for _, value in await aging.read_topic("collections.delinquency.v1")]
    for event in emitted:
        jsonschema.validate(event, STAGE_CHANGED_SCHEMA)
    assert [
        {
            "from_stage": e["data"]["from_stage"],
            "to_stage": e["data"]["to_stage"],
            "cause": e["data"]["cause"],
        }
        for e in emitted
    ] == expect["changes"]

    async with httpx.AsyncClient(base_url=aging.api) as client:
        response = await client.get("/v1/accounts/ACC-1/delinquency")
    assert response.status_code == 200, response.text
    final = response.json()
    assert {key: final[key] for key in expect["final"]} == expect["final"]

    dead = []
    for topic in (
        "corebank.accounts.v1",
        "corebank.billing.v1",
        "corebank.payments.v1",
        "corebank.calendar.v1",
    ):
        for headers, value in await aging.read_topic(f"{topic}.dlq"):
            assert headers["dlq-reason"], "every dead letter says why"
            dead.append(json.loads(value)["id"])
    assert sorted(dead) == sorted(dead_letters)

"""The golden aging cases, played against the pure domain (no broker, no database)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from aging_service.domain.policy import AgingPolicy
from tests.golden import load_golden_cases
from tests.pure_driver import PureDriver

CASES = load_golden_cases()


@pytest.mark.parametrize("case", [pytest.param(case, id=case["name"]) for case in CASES])
def test_golden_case(case: dict[str, Any]) -> None:
    config = case["config"]
    driver = PureDriver(
        AgingPolicy(grace_days=config["grace_days"], tolerance_minor=config["tolerance_minor"])
    )
    for item in case["events"]:
        driver.deliver(item["event"])

    expect = case["expect"]
    changes = [(c.from_stage, c.to_stage, c.cause) for c in driver.changes]
    assert changes == [(e["from_stage"], e["to_stage"], e["cause"]) for e in expect["changes"]]
    book = driver.books["ACC-1"]
    final = book.assess(driver.as_of)
    oldest = final.oldest_unpaid_due_date
    assert {
        "stage": final.stage,
        "dpd": final.dpd,
        "past_due_minor": final.past_due_minor,
        "oldest_unpaid_due_date": None if oldest is None else oldest.isoformat(),
    } == expect["final"]
    assert book.stage == final.stage
    assert driver.dead_letters == expect["dead_letters"]


def test_the_golden_cases_have_distinct_names_and_each_expects_something() -> None:
    """A case is told apart by its name (the test ids); each states changes or a final figure."""
    names = [case["name"] for case in CASES]
    assert names and len(set(names)) == len(names)
    assert all(case["expect"]["final"] for case in CASES)


def test_every_change_carries_the_account_and_cause_event() -> None:
    case = CASES[0]
    driver = PureDriver(AgingPolicy())
    for item in case["events"]:
        driver.deliver(item["event"])
    first, second, cure = driver.changes
    assert first.account_id == "ACC-1"
    assert first.customer_id == "CUS-1"
    assert first.currency == "CNY"
    assert (first.as_of, first.dpd, first.oldest_unpaid_due_date) == (
        date(2026, 1, 26),
        1,
        date(2026, 1, 25),
    )
    assert (second.as_of, second.dpd, second.cause_event_id) == (date(2026, 2, 25), 31, "evt-0004")
    assert (cure.cause, cure.cause_event_id, cure.dpd, cure.oldest_unpaid_due_date) == (
        "payment",
        "evt-0005",
        0,
        None,
    )

"""The simulator's generator: contract-valid, reproducible days, and behaviours that do what they say."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from aging_service.domain.policy import AgingPolicy
from collections_common.events import encode
from corebank_simulator import Behaviour, BusinessDay, SimulationOptions, business_days, simulate
from corebank_simulator.generator import Calendar
from corebank_simulator.people import national_id_check
from tests.contract.contract_files import contract_schemas, schema_errors
from tests.pure_driver import PureDriver

START = date(2026, 1, 5)  # a Monday

Event = dict[str, Any]


@cache
def run(
    behaviour: Behaviour | None = None,
    *,
    accounts: int = 30,
    days: int = 150,
    seed: int = 3,
    calendar: Calendar = "daily",
) -> tuple[BusinessDay, ...]:
    options = SimulationOptions(accounts, days, START, seed=seed, calendar=calendar)
    if behaviour is not None:
        options = replace(options, mix={behaviour: 1})
    return tuple(simulate(options))


def published(days: tuple[BusinessDay, ...]) -> list[tuple[date, str, str, Event]]:
    """(business date, topic, key, event as JSON) in publish order, closes included."""
    return [
        (day.business_date, outgoing.topic, outgoing.key, json.loads(encode(outgoing.event)))
        for day in days
        for outgoing in (*day.events, day.close)
    ]


def histories(days: tuple[BusinessDay, ...]) -> dict[str, list[Event]]:
    """Each account's events (as JSON) in publish order."""
    out: dict[str, list[Event]] = defaultdict(list)
    for _, _, key, event in published(days):
        if key != "calendar":
            out[key].append(event)
    return out


def of_type(history: list[Event], kind: str) -> list[dict[str, Any]]:
    return [event["data"] for event in history if event["type"] == f"corebank.{kind}"]


def stage_changes(days: tuple[BusinessDay, ...]) -> dict[str, list[tuple[str, str]]]:
    """The aging domain's stage changes per account for these events in publish order."""
    driver = PureDriver(AgingPolicy())
    for _, _, _, event in published(days):
        if event["type"] != "corebank.account.updated":  # aging does not read it
            driver.deliver(event)
    assert driver.dead_letters == []
    changes: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for change in driver.changes:
        changes[change.account_id].append((change.from_stage, change.to_stage))
    return changes


def due_dates(history: list[Event]) -> dict[date, dict[str, Any]]:
    return {date.fromisoformat(s["due_date"]): s for s in of_type(history, "statement.issued")}


class TestContract:
    def test_every_event_is_valid_by_its_contract_schema_on_its_topic_with_its_key(self) -> None:
        schemas = contract_schemas()
        seen = Counter()
        for _, topic, key, event in published(run(accounts=60, days=90)):
            assert schema_errors(event) == [], event
            assert schemas[event["type"]]["x-topic"] == topic
            assert key == event["subject"] == event["data"].get("account_id", "calendar")
            seen[event["type"]] += 1
        corebank = {event_type for event_type in schemas if event_type.startswith("corebank.")}
        assert set(seen) == corebank - {"corebank.account.closed"}

    def test_money_is_integer_minor_units_and_the_due_date_is_twenty_days_after_the_statement(self) -> None:
        for history in histories(run()).values():
            for statement in of_type(history, "statement.issued"):
                issued = date.fromisoformat(statement["statement_date"])
                assert date.fromisoformat(statement["due_date"]) == issued + timedelta(days=20)
                assert statement["currency"] == "CNY"
                assert 0 < statement["minimum_due_minor"] <= statement["statement_balance_minor"]
                assert isinstance(statement["minimum_due_minor"], int)

    def test_each_account_gets_one_statement_a_month_on_its_cycle_day(self) -> None:
        for history in histories(run()).values():
            dates = [date.fromisoformat(s["statement_date"]) for s in of_type(history, "statement.issued")]
            assert len({d.day for d in dates}) == 1
            assert len({(d.year, d.month) for d in dates}) == len(dates) in (4, 5)  # Jan 5 to Jun 3


class TestPortfolio:
    def test_holders_are_complete_and_plausible(self) -> None:
        opened = [of_type(h, "account.opened")[0] for h in histories(run(accounts=200, days=1)).values()]
        languages = Counter(o["holder"]["language"] for o in opened)
        assert set(languages) == {"zh-CN", "en"} and languages["zh-CN"] > languages["en"]
        for account in opened:
            holder = account["holder"]
            assert ZoneInfo(holder["timezone"])
            assert holder["phones"]
            assert holder["email"].endswith(("@example.com", "@example.net", "@example.org"))
            assert holder["address"]["region"] and holder["address"]["country"]
            if holder["address"]["country"] == "CN" and holder["language"] == "zh-CN":
                assert holder["phones"][0].startswith("+86")
                national_id = holder["national_id"]
                assert len(national_id) == 18 and national_id[17] == national_id_check(national_id[:17])
            assert date.fromisoformat(account["opened_on"]) < START
            assert set(account["consents"]) == {"sms", "email", "push", "autodial"}

    def test_some_customers_hold_two_accounts_with_the_same_holder(self) -> None:
        opened = [of_type(h, "account.opened")[0] for h in histories(run(accounts=200, days=1)).values()]
        by_customer = defaultdict(list)
        for account in opened:
            by_customer[account["customer_id"]].append(account)
        pairs = [accounts for accounts in by_customer.values() if len(accounts) == 2]
        assert 10 <= len(pairs) <= 40 and all(len(a) <= 2 for a in by_customer.values())
        assert all(a["holder"] == b["holder"] for a, b in pairs)

    def test_every_account_is_opened_in_the_first_batch_before_anything_else_about_it(self) -> None:
        first = run(accounts=50, days=5)[0]
        opened = [o.key for o in first.events if o.event.type == "corebank.account.opened"]
        assert len(opened) == 50
        assert {o.event.type for o in first.events[:50]} == {"corebank.account.opened"}


class TestCalendar:
    def test_weekdays_skip_saturday_and_sunday(self) -> None:
        days = list(business_days(date(2026, 1, 9), 3, "weekdays"))  # a Friday
        assert days == [date(2026, 1, 9), date(2026, 1, 12), date(2026, 1, 13)]
        assert list(business_days(date(2026, 1, 9), 2, "daily")) == [date(2026, 1, 9), date(2026, 1, 10)]

    def test_an_event_goes_out_with_the_first_business_day_on_or_after_its_date(self) -> None:
        days = run(accounts=40, days=40, calendar="weekdays")
        previous = START - timedelta(days=1)
        for day in days:
            assert day.close.event.data == {"business_date": day.business_date.isoformat()}
            for outgoing in day.events:
                data = outgoing.event.data
                dated = data.get("statement_date") or data.get("value_date") or data.get("effective_date")
                if dated is not None:
                    assert previous < date.fromisoformat(dated) <= day.business_date
            previous = day.business_date
        assert any(date.fromisoformat(o.event.data.get("value_date", "2000-01-01")).weekday() >= 5
                   for day in days for o in day.events)  # fmt: skip


class TestDeterminism:
    def test_the_same_seed_and_options_give_byte_identical_events_and_ids(self) -> None:
        options = SimulationOptions(40, 30, START, seed=11)
        first = [encode(o.event) for day in simulate(options) for o in (*day.events, day.close)]
        again = [encode(o.event) for day in simulate(options) for o in (*day.events, day.close)]
        assert first == again
        assert len({json.loads(raw)["id"] for raw in first}) == len(first)

    def test_another_seed_gives_other_events_and_other_ids(self) -> None:
        one = [o.event for day in run(seed=1, days=20) for o in day.events]
        two = [o.event for day in run(seed=2, days=20) for o in day.events]
        assert [e.data for e in one] != [e.data for e in two]
        assert not {e.id for e in one} & {e.id for e in two}

    def test_a_shorter_run_is_the_beginning_of_a_longer_one(self) -> None:
        short, long = run(days=20), run(days=150)
        assert short == long[:20]


class TestBehaviours:
    def test_always_pays_never_falls_behind(self) -> None:
        days = run(Behaviour.ALWAYS_PAYS)
        for history in histories(days).values():
            dues = due_dates(history)
            for payment in of_type(history, "payment.posted"):
                paid_on = date.fromisoformat(payment["value_date"])
                statement = min((d for d in dues if d >= paid_on), default=None)
                assert statement is not None
                assert payment["amount_minor"] >= dues[statement]["minimum_due_minor"]
        assert stage_changes(days) == {}

    def test_a_day_late_payer_pays_the_day_after_each_due_date(self) -> None:
        days = run(Behaviour.DAY_LATE)
        for history in histories(days).values():
            dues = due_dates(history)
            payments = of_type(history, "payment.posted")
            assert payments
            for payment in payments:
                due = date.fromisoformat(payment["value_date"]) - timedelta(days=1)
                assert due in dues and payment["amount_minor"] >= dues[due]["minimum_due_minor"]
        for changes in stage_changes(days).values():
            assert set(changes) == {("CURRENT", "M1"), ("M1", "CURRENT")}

    def test_a_late_payer_pays_each_minimum_10_to_40_days_after_its_due_date(self) -> None:
        for history in histories(run(Behaviour.LATE)).values():
            dues = sorted(due_dates(history))
            payments = of_type(history, "payment.posted")
            assert payments
            for due, payment in zip(dues, payments, strict=False):
                assert 10 <= (date.fromisoformat(payment["value_date"]) - due).days <= 40

    def test_a_self_curer_falls_behind_once_pays_everything_and_stays_current(self) -> None:
        days = run(Behaviour.SELF_CURES)
        changes = stage_changes(days)
        assert len(changes) == 30
        assert all(episode == [("CURRENT", "M1"), ("M1", "CURRENT")] for episode in changes.values())

    def test_a_partial_payer_pays_less_than_the_minimum_on_time(self) -> None:
        days = run(Behaviour.PARTIAL)
        for history in histories(days).values():
            dues = due_dates(history)
            for payment in of_type(history, "payment.posted"):
                paid_on = date.fromisoformat(payment["value_date"])
                statement = min(d for d in dues if d >= paid_on)
                assert payment["amount_minor"] < dues[statement]["minimum_due_minor"]
        assert all(changes[0] == ("CURRENT", "M1") for changes in stage_changes(days).values())

    def test_hardship_is_flagged_after_falling_behind_then_small_payments_follow(self) -> None:
        for history in histories(run(Behaviour.HARDSHIP)).values():
            types = [event["type"] for event in history]
            flagged = types.index("corebank.account.updated")
            assert history[flagged]["data"]["flags"] == {"hardship": True}
            assert "corebank.payment.posted" not in types[:flagged]
            minimum = max(s["minimum_due_minor"] for s in of_type(history, "statement.issued"))
            assert all(p["amount_minor"] < minimum for p in of_type(history[flagged:], "payment.posted"))

    def test_a_never_payer_has_no_payments_and_rolls_into_later_stages(self) -> None:
        days = run(Behaviour.NEVER_PAYS)
        for history in histories(days).values():
            assert of_type(history, "payment.posted") == []
        assert all(("M1", "M2") in changes for changes in stage_changes(days).values())

    def test_a_reversed_payment_is_reversed_after_it_was_posted(self) -> None:
        for history in histories(run(Behaviour.REVERSED)).values():
            reversals = [i for i, e in enumerate(history) if e["type"] == "corebank.payment.reversed"]
            assert reversals
            for at in reversals:
                reversed_id = history[at]["data"]["payment_id"]
                posted = [p["payment_id"] for p in of_type(history[:at], "payment.posted")]
                assert reversed_id in posted
                assert history[at]["time"] > next(
                    e["time"] for e in history if e["data"].get("payment_id") == reversed_id
                )

    def test_a_restructured_account_is_reaged_past_due_then_pays_and_cures(self) -> None:
        days = run(Behaviour.RESTRUCTURED)
        changes = stage_changes(days)
        for account, history in histories(days).items():
            types = [event["type"] for event in history]
            reaged = types.index("corebank.account.reaged")
            assert "corebank.payment.posted" not in types[:reaged]
            assert of_type(history[reaged:], "payment.posted")
            assert changes[account][-1] == ("M2", "CURRENT")


@pytest.mark.parametrize("behaviour", list(Behaviour))
def test_each_behaviour_alone_makes_events_the_aging_domain_accepts(behaviour: Behaviour) -> None:
    stage_changes(run(behaviour, days=60))  # asserts no dead letters

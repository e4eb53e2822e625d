"""The contact service end to end: its worker and API processes over the real broker and
PostgreSQL, sending through the real provider sandbox. Events are published as their producers
publish them (aging's stage changes, core banking's accounts, payments and closes), one after
another, never waiting for the service in between."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from devstack.stack import Stack
from tests.auth_tokens import StaffTokens
from tests.contact_harness import day_closed, opened, payment_posted, stage_changed, zone_at
from tests.e2e.aging_harness import until
from tests.e2e.contact_stack import ContactUnderTest, Sandbox

pytestmark = [pytest.mark.infra, pytest.mark.slow]

# Quick retries, so an outage of a few seconds is seen through within the test.
FAST_RETRIES = {
    "PROVIDER_RETRIES": "1",
    "PROVIDER_BACKOFF_SECONDS": "0.05",
    "PROVIDER_TIMEOUT_SECONDS": "2",
    "RESEND_AFTER_SECONDS": "1",
    "SENDER_INTERVAL_MS": "200",
}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    started = Sandbox(tmp_path_factory.mktemp("contact-e2e-sandbox")).start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def contact(
    stack: Stack, sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ContactUnderTest]:
    namespace = f"t{uuid.uuid4().hex[:10]}"
    prefix = f"{namespace}."
    stack.apply_topics(prefix=prefix)
    logs = tmp_path_factory.mktemp("contact-e2e")
    service = ContactUnderTest(
        stack, namespace, prefix, logs, StaffTokens(logs / "jwks.json"), {**sandbox.env, **FAST_RETRIES}
    ).start()
    try:
        yield service
    finally:
        service.stop()


def _debtor(name: str) -> tuple[str, str]:
    """A debtor's own phone and e-mail address, unique to the test run."""
    tag = uuid.uuid4().int % 10**8
    return f"+86139{tag:08d}", f"{name.lower()}-{tag}@example.com"


def _to(messages: list[dict[str, Any]], *points: str) -> list[dict[str, Any]]:
    return [m for m in messages if m["to"] in points]


def _key(message: dict[str, Any]) -> str:
    """The contact's idempotency key (mail carries it as ``<key>@contact.collections``)."""
    return str(message["idempotency_key"]).split("@")[0]


async def _planned(contact: ContactUnderTest, customer: str) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in await contact.fetch(
            "SELECT id, channel, status, due_at, next_try_at, sent_at, language, deferred_rule,"
            " cancel_reason, tries FROM planned_contacts WHERE customer_id = $1 ORDER BY id",
            customer,
        )
    ]


async def _due_now(contact: ContactUnderTest, customer: str) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [p for p in await _planned(contact, customer) if p["due_at"] <= now]


async def _opened_then(
    contact: ContactUnderTest, *accounts: dict[str, Any], then: list[dict[str, Any]]
) -> None:
    """Core banking opens the accounts, and aging's stage changes of them come later (in a
    bank, days later). The two are on different topics, which the worker does not order
    between them, so the openings are applied before aging's changes are published; within
    each producer's stream nothing waits for the service."""
    await contact.publish(*accounts)
    await contact.applied(*accounts)
    await contact.publish(*then)


class TestReminders:
    async def test_a_stage_change_to_m1_sends_the_planned_reminders_in_the_debtors_language_within_hours(
        self, contact: ContactUnderTest, sandbox: Sandbox
    ) -> None:
        now = datetime.now(UTC)
        zones = {"EN": zone_at(13, now), "ZH": zone_at(15, now)}
        points = {"EN": _debtor("EN"), "ZH": _debtor("ZH")}
        await _opened_then(
            contact,
            opened(
                "EN1",
                "EN",
                timezone=zones["EN"],
                language="en",
                phones=[points["EN"][0]],
                email=points["EN"][1],
            ),
            opened(
                "ZH1",
                "ZH",
                timezone=zones["ZH"],
                language="zh-CN",
                phones=[points["ZH"][0]],
                email=points["ZH"][1],
            ),
            then=[
                stage_changed("EN1", "EN", "M1", dpd=3, past_due_minor=120_000, as_of=now.date().isoformat()),
                stage_changed("ZH1", "ZH", "M1", dpd=3, past_due_minor=80_000, as_of=now.date().isoformat()),
            ],
        )

        async def delivered() -> bool:
            got = await sandbox.messages()
            return all(len(_to(got, *points[c])) >= 2 for c in points)

        await until(delivered, what="the day-0 M1 reminders in the sandbox", timeout=30)
        messages = await sandbox.messages()
        for customer, language in (("EN", "en"), ("ZH", "zh-CN")):
            due = await _due_now(contact, customer)
            got = _to(messages, *points[customer])
            # The plan's day-0 steps (an SMS and an e-mail at 10:00 local), each sent once.
            assert sorted(p["channel"] for p in due) == ["email", "sms"]
            assert sorted(_key(m) for m in got) == sorted(f"planned-{p['id']}" for p in due)
            assert {m["channel"] for m in got} == {"sms", "email"}
            assert {m["language"] for m in got} == {language}
            for message in got:
                local = datetime.fromisoformat(message["received_at"]).astimezone(ZoneInfo(zones[customer]))
                assert 8 <= local.hour < 21, "sent inside cn-seed's hours in the debtor's zone"
        sms = {c: next(m for m in _to(messages, *points[c]) if m["channel"] == "sms") for c in points}
        assert "past due" in sms["EN"]["body"] and "Reply STOP to opt out." in sms["EN"]["body"]
        assert "逾期" in sms["ZH"]["body"] and "回复TD退订" in sms["ZH"]["body"]
        # Later steps wait for their day: nothing of them has been sent.
        later = [p for p in await _planned(contact, "EN") if p["due_at"] > datetime.now(UTC)]
        assert later and all(p["status"] == "pending" for p in later)


class TestCure:
    async def test_a_change_to_current_cancels_pending_contacts_before_they_are_sent(
        self, contact: ContactUnderTest, sandbox: Sandbox
    ) -> None:
        now = datetime.now(UTC)
        phone, email = _debtor("CU")
        # 02:00 where the debtor lives: the day's 10:00 reminders are pending, not yet due.
        await _opened_then(
            contact,
            opened("CU1", "CU", timezone=zone_at(2, now), phones=[phone], email=email),
            then=[
                stage_changed("CU1", "CU", "M1", as_of=now.date().isoformat()),
                stage_changed("CU1", "CU", "CURRENT", from_stage="M1", as_of=now.date().isoformat()),
            ],
        )

        async def cured() -> bool:
            # The account's stage is null until aging's first change, M1 after it.
            rows = await contact.fetch("SELECT stage FROM case_accounts WHERE account_id = 'CU1'")
            return bool(rows) and rows[0]["stage"] == "CURRENT"

        await until(cured, what="the cure applied", timeout=30)
        planned = await _planned(contact, "CU")
        assert planned, "the M1 plan was laid out"
        assert {(p["status"], p["cancel_reason"]) for p in planned} == {("cancelled", "cured")}
        assert not _to(await sandbox.messages(), phone, email)


class TestProviderOutage:
    async def test_an_outage_delays_sends_and_loses_or_doubles_none(
        self, contact: ContactUnderTest, sandbox: Sandbox
    ) -> None:
        now = datetime.now(UTC)
        phone, email = _debtor("OU")
        await sandbox.control(down=True)
        try:
            await _opened_then(
                contact,
                opened("OU1", "OU", timezone=zone_at(13, now), language="en", phones=[phone], email=email),
                then=[stage_changed("OU1", "OU", "M1", as_of=now.date().isoformat())],
            )

            async def tried_twice() -> bool:
                due = await _due_now(contact, "OU")
                failed = [r for r in await sandbox.requests() if r["to"] in (phone, email)]
                return len(due) == 2 and len(failed) >= 2 * len(due)

            await until(tried_twice, what="sends refused by the provider", timeout=30)
            assert not _to(await sandbox.messages(), phone, email), "nothing delivered while down"
            assert {p["status"] for p in await _due_now(contact, "OU")} <= {"pending", "sending"}
        finally:
            await sandbox.control(down=False)

        async def delivered() -> bool:
            recorded = {p["status"] for p in await _due_now(contact, "OU")} == {"sent"}
            return recorded and len(_to(await sandbox.messages(), phone, email)) >= 2

        await until(delivered, what="the delayed sends, delivered and recorded", timeout=30)
        due = await _due_now(contact, "OU")
        requests = [r for r in await sandbox.requests() if r["to"] in (phone, email)]
        accepted = [_key(r) for r in requests if r["accepted"]]
        assert sorted(accepted) == sorted(f"planned-{p['id']}" for p in due), "each contact once"
        assert any(not r["accepted"] for r in requests), "the outage was seen"
        assert {p["status"] for p in due} == {"sent"}
        attempts = await contact.fetch(
            "SELECT outcome, count(*) AS n FROM permits WHERE customer_id = 'OU' GROUP BY outcome"
        )
        assert {r["outcome"]: r["n"] for r in attempts}.get("sent") == 2


class TestPromises:
    async def test_a_promise_is_kept_by_a_payment_and_another_broken_without_one_at_the_close(
        self, contact: ContactUnderTest
    ) -> None:
        now = datetime.now(UTC)
        today = now.date()
        debtors = {"PK": "PK1", "PB": "PB1"}
        phones = {c: _debtor(c)[0] for c in debtors}
        await contact.publish(
            *(opened(a, c, timezone=zone_at(13, now), phones=[phones[c]]) for c, a in debtors.items())
        )
        due = today + timedelta(days=2)
        async with httpx.AsyncClient(base_url=contact.api, timeout=30) as client:

            async def known() -> bool:
                for customer in debtors:
                    found = await client.get(f"/v1/cases/{customer}", headers=contact.headers("collector"))
                    if found.status_code != 200:
                        return False
                return True

            await until(known, what="the collector sees both cases", timeout=30)
            for customer, account in debtors.items():
                permit = await client.post(
                    "/v1/contact-permits",
                    json={"account_id": account, "channel": "call", "contact_point": phones[customer]},
                    headers=contact.headers("collector"),
                )
                assert permit.status_code == 201 and permit.json()["allowed"], permit.text
                outcome = await client.post(
                    f"/v1/contact-permits/{permit.json()['permit_id']}/outcome",
                    json={
                        "outcome": "promise_to_pay",
                        "recording_ref": f"rec-{customer}",
                        "details": {"promise": {"date": due.isoformat(), "amount_minor": 30_000}},
                    },
                    headers=contact.headers("collector"),
                )
                assert outcome.status_code == 200, outcome.text

        await contact.publish(
            payment_posted(
                "PK1", f"pay-{uuid.uuid4().hex[:8]}", 30_000, (today + timedelta(days=1)).isoformat()
            ),
            day_closed(due.isoformat()),
        )

        async def decided() -> bool:
            rows = await contact.fetch(
                "SELECT status FROM promises WHERE customer_id = ANY($1::text[])", list(debtors)
            )
            return len(rows) == 2 and all(r["status"] != "open" for r in rows)

        await until(decided, what="both promises decided", timeout=30)
        rows = await contact.fetch(
            "SELECT customer_id, status, paid_minor, made_by FROM promises"
            " WHERE customer_id = ANY($1::text[])",
            list(debtors),
        )
        assert {r["customer_id"]: (r["status"], r["paid_minor"], r["made_by"]) for r in rows} == {
            "PK": ("kept", 30_000, "alice"),
            "PB": ("broken", 0, "alice"),
        }

        async def published() -> list[dict[str, Any]]:
            events = [json.loads(v) for _, v in await contact.read_topic("collections.contact.v1")]
            return [e for e in events if e["data"].get("customer_id") in debtors]

        async def both_out() -> bool:
            kinds = {e["type"] for e in await published()}
            return {"collections.promise.kept", "collections.promise.broken"} <= kinds

        await until(both_out, what="promise events on collections.contact.v1", timeout=30)
        decided_events = {
            e["data"]["customer_id"]: e["type"]
            for e in await published()
            if e["type"] in ("collections.promise.kept", "collections.promise.broken")
        }
        assert decided_events == {"PK": "collections.promise.kept", "PB": "collections.promise.broken"}


class TestOutsideHours:
    """Last in the module: it moves the worker's clock forward."""

    async def test_a_contact_due_at_night_is_deferred_to_the_next_allowed_time_and_sent_then(
        self, contact: ContactUnderTest, sandbox: Sandbox
    ) -> None:
        now = datetime.now(UTC)
        zone = zone_at(22, now)  # past cn-seed's 21:00: the day-0 10:00 reminders are due, not allowed
        night, cured = _debtor("NI"), _debtor("NC")
        await _opened_then(
            contact,
            opened("NI1", "NI", timezone=zone, phones=[night[0]], email=night[1]),
            opened("NC1", "NC", timezone=zone, phones=[cured[0]], email=cured[1]),
            then=[
                stage_changed("NI1", "NI", "M1", as_of=now.date().isoformat()),
                stage_changed("NC1", "NC", "M1", as_of=now.date().isoformat()),
                stage_changed("NC1", "NC", "CURRENT", from_stage="M1", as_of=now.date().isoformat()),
            ],
        )

        async def deferred() -> bool:
            due = await _due_now(contact, "NI")
            cancelled = {p["status"] for p in await _planned(contact, "NC")} == {"cancelled"}
            return len(due) == 2 and all(p["deferred_rule"] for p in due) and cancelled

        await until(deferred, what="the night reminders deferred", timeout=30)
        due = await _due_now(contact, "NI")
        tz = ZoneInfo(zone)
        morning = (datetime.now(tz) + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
        assert {(p["status"], p["next_try_at"]) for p in due} == {("pending", morning)}
        assert {p["deferred_rule"] for p in due} == {"hours"}
        assert not _to(await sandbox.messages(), *night, *cured), "not sent early"

        # The worker restarts with its clock just past the debtor's 08:00: the deferred work was
        # stored, so the new worker sends it then (and nothing of the cured debtor).
        worker = contact.processes[0]
        worker.stop()
        offset = (morning - datetime.now(UTC)).total_seconds() + 30
        contact.start_worker("worker-morning", CLOCK_OFFSET_SECONDS=str(offset))

        async def sent() -> bool:
            recorded = {p["status"] for p in await _due_now(contact, "NI")} == {"sent"}
            return recorded and len(_to(await sandbox.messages(), *night)) == 2

        await until(sent, what="the deferred reminders sent in the morning", timeout=30)
        after = await _due_now(contact, "NI")
        assert {p["status"] for p in after} == {"sent"}
        for p in after:
            assert p["sent_at"] >= morning and p["sent_at"].astimezone(tz).hour == 8
        assert sorted(_key(m) for m in _to(await sandbox.messages(), *night)) == sorted(
            f"planned-{p['id']}" for p in after
        )
        assert not _to(await sandbox.messages(), *cured)

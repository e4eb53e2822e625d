"""Collector work, holds, contact points, history, promises and reachability against a real
PostgreSQL and the real API process."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from collections_common.runtime import Outbox
from contact_service.bootstrap import SERVICE
from contact_service.domain.compliance import PermitRequest
from contact_service.domain.contact import Channel, Outcome, Party, PartyKind
from contact_service.domain.errors import OutcomeConflict
from contact_service.expiry import PermitExpiry
from contact_service.permits import OutcomeReport, record_outcome, reserve
from contact_service.settings import ContactSettings
from devstack.stack import Stack
from tests.auth_tokens import StaffTokens
from tests.contact_harness import (
    ContactApi,
    apply,
    day_closed,
    emitted,
    event,
    judge_closes,
    opened,
    payment_posted,
    payment_reversed,
    rows,
    stage_changed,
    zone_at,
)

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


@pytest.fixture
def api(stack: Stack, database: str, tmp_path: Path) -> Iterator[ContactApi]:
    base = tmp_path
    started = ContactApi(stack, database, StaffTokens(base / "jwks.json"), base).start()
    try:
        yield started
    finally:
        started.stop()


async def _permit(engine: AsyncEngine, settings: ContactSettings, request: PermitRequest) -> tuple[str, bool]:
    async with AsyncSession(engine) as session, session.begin():
        row = await reserve(session, pack=settings.pack, source="test", request=request, requested_by="test")
    return row.permit_id, row.allowed


async def _outcome(
    engine: AsyncEngine,
    settings: ContactSettings,
    permit_id: str,
    outcome: Outcome,
    at: datetime,
    details: dict[str, Any] | None = None,
) -> None:
    async with AsyncSession(engine) as session, session.begin():
        outbox = Outbox(session)
        await record_outcome(
            session,
            outbox,
            pack=settings.pack,
            source="test",
            permit_id=permit_id,
            report=OutcomeReport(outcome, at, details=details),
            by="alice",
        )
        await outbox.flush()


class TestCallTasks:
    async def test_the_next_task_is_the_best_one_compliance_allows_locked_to_its_collector(
        self, engine: AsyncEngine, settings: ContactSettings, api: ContactApi
    ) -> None:
        now = datetime.now(UTC)
        day, night = zone_at(13, now), zone_at(2, now)
        await apply(
            engine,
            settings,
            opened("HI1", "HI", timezone=day),
            opened("LO1", "LO", timezone=day),
            opened("NI1", "NI", timezone=night),
            stage_changed("HI1", "HI", "M3", dpd=75, past_due_minor=900_000, time=now.isoformat()),
            stage_changed("LO1", "LO", "M2", dpd=35, past_due_minor=20_000, time=now.isoformat()),
            # The best score of all, but it is night where this debtor lives (due since yesterday).
            stage_changed(
                "NI1",
                "NI",
                "M3",
                dpd=89,
                past_due_minor=9_000_000,
                time=(now - timedelta(days=1)).isoformat(),
            ),
        )
        url = f"{api.url}/v1/call-tasks"
        async with httpx.AsyncClient(timeout=30) as client:
            first = (await client.post(f"{url}/next", headers=api.headers("collector"))).json()["task"]
            again = (await client.post(f"{url}/next", headers=api.headers("collector"))).json()["task"]
            bob = (await client.post(f"{url}/next", headers=api.headers("collector", subject="bob"))).json()[
                "task"
            ]
            carol = (
                await client.post(f"{url}/next", headers=api.headers("collector", subject="carol"))
            ).json()["task"]
            outcome = await client.post(
                f"{url}/{first['task_id']}/outcome",
                json={
                    "outcome": "promise_to_pay",
                    "recording_ref": "rec-0001",
                    "details": {
                        "promise": {
                            "date": (now.date() + timedelta(days=3)).isoformat(),
                            "amount_minor": 50_000,
                        }
                    },
                },
                headers=api.headers("collector"),
            )
            not_bobs = await client.post(
                f"{url}/{bob['task_id']}/outcome",
                json={"outcome": "no_answer"},
                headers=api.headers("collector"),
            )
            done = (await client.get(url, params={"status": "done"}, headers=api.headers("collector"))).json()

        assert first["customer_id"] == "HI" and first["locked_by"] == "alice"
        locked_for = datetime.fromisoformat(first["locked_until"]) - now
        assert timedelta(minutes=19) < locked_for <= timedelta(minutes=21)
        assert first["script"] and first["contact_point"] == "+8613800000001"
        assert again["task_id"] == first["task_id"]  # the collector's locked task comes back
        assert bob["customer_id"] == "LO"  # not alice's locked task, though it scores higher
        assert carol is None  # the night debtor's task waits for the morning
        deferred = await rows(
            engine, "SELECT not_before > now() FROM call_tasks WHERE customer_id = 'NI' AND due_at < now()"
        )
        assert deferred and all(d == (True,) for d in deferred)

        assert outcome.status_code == 200
        assert outcome.json()["outcome"] == "promise_to_pay" and outcome.json()["recording_ref"] == "rec-0001"
        assert not_bobs.status_code == 409
        assert [t["task_id"] for t in done["items"]] == [first["task_id"]]
        assert done["items"][0]["outcome"] == "promise_to_pay"
        promises = await rows(engine, "SELECT customer_id, amount_minor, status, made_by FROM promises")
        assert promises == [("HI", 50_000, "open", "alice")]
        made = await emitted(engine, "collections.promise.made")
        assert [(e["data"]["account_id"], e["data"]["amount_minor"]) for e in made] == [("HI1", 50_000)]
        attempted = await emitted(engine, "collections.contact.attempted")
        assert [e["data"].get("recording_ref") for e in attempted] == ["rec-0001"]


class TestHolds:
    async def test_a_supervisor_sets_a_hold_that_cancels_pending_work_and_ends_it(
        self, engine: AsyncEngine, settings: ContactSettings, api: ContactApi
    ) -> None:
        await apply(
            engine, settings, opened("A1", "C1"), stage_changed("A1", "C1", "M2", time=MORNING.isoformat())
        )
        url = f"{api.url}/v1/cases/C1/holds"
        body = {"reason": "job loss", "ends_on": "2099-01-31"}
        async with httpx.AsyncClient(timeout=30) as client:
            by_collector = await client.post(url, json=body, headers=api.headers("collector"))
            untouched = await rows(
                engine, "SELECT count(*) FROM call_tasks WHERE status = 'pending' AND customer_id = 'C1'"
            )
            created = await client.post(url, json=body, headers=api.headers("supervisor", subject="sue"))
            hold = created.json()
            ended = await client.post(
                f"{url}/{hold['hold_id']}/end", headers=api.headers("supervisor", subject="sue")
            )
            again = await client.post(f"{url}/{hold['hold_id']}/end", headers=api.headers("supervisor"))
            unknown = await client.post(f"{url}/nope/end", headers=api.headers("supervisor"))
            backwards = await client.post(
                url,
                json={"reason": "x", "starts_on": "2099-02-01", "ends_on": "2099-01-31"},
                headers=api.headers("supervisor"),
            )

        assert by_collector.status_code == 403
        assert untouched != [(0,)]
        assert created.status_code == 201 and hold["set_by"] == "sue" and hold["account_id"] == "A1"
        pending = await rows(
            engine,
            "SELECT (SELECT count(*) FROM call_tasks WHERE status = 'pending')"
            " + (SELECT count(*) FROM planned_contacts WHERE status = 'pending')",
        )
        assert pending == [(0,)]
        reasons = await rows(
            engine,
            "SELECT DISTINCT cancel_reason FROM call_tasks"
            " UNION SELECT DISTINCT cancel_reason FROM planned_contacts",
        )
        assert reasons == [("hardship_hold",)]
        hold_set = await emitted(engine, "collections.hold.set")
        assert [(e["data"]["hold_id"], e["data"]["reason"], e["data"]["set_by"]) for e in hold_set] == [
            (hold["hold_id"], "job loss", "sue")
        ]
        assert ended.status_code == 200 and ended.json()["ended_by"] == "sue"
        assert ended.json()["ended_on"] is not None
        hold_ended = await emitted(engine, "collections.hold.ended")
        assert [e["data"]["hold_id"] for e in hold_ended] == [hold["hold_id"]]
        assert again.status_code == 409
        assert unknown.status_code == 404
        assert backwards.status_code == 422
        assert backwards.json()["detail"] == "a hold ends on or after the day it starts"


class TestPermitExpiry:
    async def test_an_unanswered_permit_becomes_one_unknown_attempt_and_a_late_outcome_replaces_it(
        self, engine: AsyncEngine, settings: ContactSettings
    ) -> None:
        now = datetime.now(UTC)
        await apply(engine, settings, opened("A1", "C1", timezone=zone_at(13, now)))
        call = PermitRequest(
            "A1", Channel.CALL, "+8613800000001", now - timedelta(hours=1), autodialled=False
        )
        expired, _ = await _permit(engine, settings, call)
        await _permit(engine, settings, PermitRequest("A1", Channel.SMS, "+8613800000001", now))  # still held
        expiry = PermitExpiry(settings, engine)

        assert await expiry.tick() == 1
        assert await expiry.tick() == 0
        attempted = await emitted(engine, "collections.contact.attempted")
        assert [(e["data"]["permit_id"], e["data"]["outcome"]) for e in attempted] == [(expired, "unknown")]
        assert await rows(engine, "SELECT outcome, outcome_by FROM permits WHERE outcome IS NOT NULL") == [
            ("unknown", "contact-expiry")
        ]

        late = now - timedelta(minutes=30)
        await _outcome(engine, settings, expired, Outcome.REACHED, late)
        await _outcome(engine, settings, expired, Outcome.REACHED, late)  # the same again: nothing new
        with pytest.raises(OutcomeConflict):
            await _outcome(engine, settings, expired, Outcome.NO_ANSWER, late)
        attempted = await emitted(engine, "collections.contact.attempted")
        assert [e["data"]["outcome"] for e in attempted] == ["unknown", "reached"]
        assert await expiry.tick() == 0


def _attempts(channel: str, outcome: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "collections_contact_attempts_total", {"channel": channel, "outcome": outcome}
        )
        or 0.0
    )


def _promises(status: str) -> float:
    return REGISTRY.get_sample_value("collections_contact_promises_total", {"status": status}) or 0.0


class TestCountersAfterCommit:
    async def test_outcomes_and_promises_count_when_committed_and_never_when_rolled_back(
        self, engine: AsyncEngine, settings: ContactSettings
    ) -> None:
        await apply(engine, settings, opened("A1", "C1"))
        call = PermitRequest("A1", Channel.CALL, "+8613800000001", MORNING, autodialled=False)
        permit_id, _ = await _permit(engine, settings, call)
        details = {"promise": {"date": "2026-03-05", "amount_minor": 1_000}}
        attempts, made = _attempts("call", "promise_to_pay"), _promises("made")

        async with AsyncSession(engine) as session:
            await session.begin()
            await record_outcome(
                session,
                Outbox(session),
                pack=settings.pack,
                source="test",
                permit_id=permit_id,
                report=OutcomeReport(Outcome.PROMISE_TO_PAY, MORNING, details=details),
                by="alice",
            )
            assert (_attempts("call", "promise_to_pay"), _promises("made")) == (attempts, made)
            await session.rollback()
        assert (_attempts("call", "promise_to_pay"), _promises("made")) == (attempts, made)

        await _outcome(engine, settings, permit_id, Outcome.PROMISE_TO_PAY, MORNING, details)
        assert (_attempts("call", "promise_to_pay"), _promises("made")) == (attempts + 1, made + 1)


class TestContactPoints:
    async def test_a_point_is_added_with_its_source_once(
        self, engine: AsyncEngine, settings: ContactSettings, api: ContactApi
    ) -> None:
        await apply(engine, settings, opened("A1", "C1"))
        url = f"{api.url}/v1/cases/C1/contact-points"
        body = {"value": "+8613900000009", "source": "skip_trace"}
        async with httpx.AsyncClient(timeout=30) as client:
            added = await client.post(url, json=body, headers=api.headers("collector"))
            twice = await client.post(url, json=body, headers=api.headers("collector"))
            nobody = await client.post(
                f"{api.url}/v1/cases/ZZ/contact-points", json=body, headers=api.headers("collector")
            )
            bad = await client.post(url, json={"value": "+86139"}, headers=api.headers("collector"))
            case = (await client.get(f"{api.url}/v1/cases/C1", headers=api.headers("supervisor"))).json()

        assert added.status_code == 201
        assert added.json()["source"] == "skip_trace" and added.json()["owner"] == "debtor"
        assert "13900000009" not in added.json()["value"]  # masked
        assert twice.status_code == 409
        assert nobody.status_code == 404
        assert bad.status_code == 422
        assert ("debtor", "skip_trace") in {(p["owner"], p["source"]) for p in case["contact_points"]}
        stored = await rows(
            engine, "SELECT source, added_by FROM contact_points WHERE value = '+8613900000009'"
        )
        assert stored == [("skip_trace", "alice")]


class TestCaseHistory:
    async def test_the_history_pages_newest_first_and_filters_by_channel_and_decision(
        self, engine: AsyncEngine, settings: ContactSettings, api: ContactApi
    ) -> None:
        await apply(engine, settings, opened("A1", "C1"))
        made: list[tuple[str, bool, str]] = []
        for minute in range(5):  # cn-seed allows 3 a day: the last two are refused
            channel = Channel.EMAIL if minute % 2 else Channel.SMS
            point = "debtor@example.com" if channel is Channel.EMAIL else "+8613800000001"
            permit_id, allowed = await _permit(
                engine, settings, PermitRequest("A1", channel, point, MORNING + timedelta(minutes=minute))
            )
            made.append((permit_id, allowed, channel.value))
        url = f"{api.url}/v1/cases/C1/contacts"
        headers = api.headers("auditor")
        seen: list[str] = []
        pages = 0
        async with httpx.AsyncClient(timeout=30) as client:
            cursor: str | None = None
            while True:
                params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
                page = (await client.get(url, params=params, headers=headers)).json()
                pages += 1
                seen += [item["permit_id"] for item in page["items"]]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            emails = (await client.get(url, params={"channel": "email"}, headers=headers)).json()
            refused = (await client.get(url, params={"allowed": "false"}, headers=headers)).json()
            bad_cursor = await client.get(url, params={"cursor": "garbage"}, headers=headers)
            bad_channel = await client.get(url, params={"channel": "fax"}, headers=headers)
            unknown = await client.get(f"{api.url}/v1/cases/ZZ/contacts", headers=headers)

        assert seen == [permit_id for permit_id, _, _ in reversed(made)]
        assert pages == 3
        assert [i["permit_id"] for i in emails["items"]] == [p for p, _, c in reversed(made) if c == "email"]
        assert [i["permit_id"] for i in refused["items"]] == [p for p, a, _ in reversed(made) if not a]
        assert {i["rule"] for i in refused["items"]} == {"daily_attempts"} and len(refused["items"]) == 2
        assert all("13800000001" not in i["contact_point"] for i in emails["items"] + refused["items"])
        assert bad_cursor.status_code == 400
        assert bad_channel.status_code == 422
        assert unknown.status_code == 404


class TestPromises:
    async def _promise(
        self, engine: AsyncEngine, settings: ContactSettings, amount_minor: int, due: str
    ) -> str:
        permit_id, allowed = await _permit(
            engine, settings, PermitRequest("A1", Channel.CALL, "+8613800000001", MORNING, autodialled=False)
        )
        assert allowed
        details = {"promise": {"date": due, "amount_minor": amount_minor}}
        await _outcome(engine, settings, permit_id, Outcome.PROMISE_TO_PAY, MORNING, details)
        found = await rows(engine, "SELECT promise_id FROM promises WHERE permit_id = :p", p=permit_id)
        return str(found[0][0])

    async def test_a_payment_keeps_a_promise_at_the_close_of_its_date_and_none_breaks_it(
        self, engine: AsyncEngine, settings: ContactSettings
    ) -> None:
        await apply(engine, settings, opened("A1", "C1"))
        kept = await self._promise(engine, settings, 50_000, "2026-03-05")
        broken = await self._promise(engine, settings, 70_000, "2026-03-06")
        await apply(engine, settings, payment_posted("A1", "P1", 50_000, "2026-03-04"))
        await apply(engine, settings, day_closed("2026-03-04"))
        await judge_closes(engine, settings)
        assert await rows(engine, "SELECT DISTINCT status FROM promises") == [("open",)]

        await apply(engine, settings, day_closed("2026-03-05"))
        await apply(engine, settings, day_closed("2026-03-06"))
        await judge_closes(engine, settings)
        status = dict(await rows(engine, "SELECT promise_id, status FROM promises"))  # type: ignore[arg-type]
        # P1 falls inside both promises' windows, but 50,000 does not cover the second's 70,000.
        assert status == {kept: "kept", broken: "broken"}
        kept_events = await emitted(engine, "collections.promise.kept")
        broken_events = await emitted(engine, "collections.promise.broken")
        assert [(e["data"]["promise_id"], e["data"]["paid_minor"]) for e in kept_events] == [(kept, 50_000)]
        assert [(e["data"]["promise_id"], e["data"]["as_of"]) for e in broken_events] == [
            (broken, "2026-03-06")
        ]

    async def test_a_reversal_of_the_payment_that_kept_a_promise_breaks_it(
        self, engine: AsyncEngine, settings: ContactSettings
    ) -> None:
        await apply(engine, settings, opened("A1", "C1"))
        promise = await self._promise(engine, settings, 50_000, "2026-03-05")
        await apply(
            engine, settings, payment_posted("A1", "P1", 50_000, "2026-03-03"), day_closed("2026-03-05")
        )
        await judge_closes(engine, settings)
        assert await rows(engine, "SELECT status FROM promises") == [("kept",)]
        await apply(engine, settings, payment_reversed("A1", "P1"))
        await apply(engine, settings, payment_reversed("A1", "P1"))  # a repeat changes nothing more
        assert await rows(engine, "SELECT status, paid_minor FROM promises") == [("broken", 0)]
        broken = await emitted(engine, "collections.promise.broken")
        assert [e["data"]["promise_id"] for e in broken] == [promise]


def _reported(
    permit_id: str | None,
    outcome: str,
    at: datetime,
    *,
    violation: str | None = None,
    activity: str = "ACT-1",
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "activity_id": activity,
        "agency_id": "AG1",
        "case_id": "CASE-1",
        "placement_id": "PL-1",
        "account_id": "A1",
        "customer_id": "C1",
        "kind": "contact",
        "at": at.isoformat(),
        "channel": "call",
        "outcome": outcome,
    }
    if permit_id is not None:
        data["permit_id"] = permit_id
    if violation is not None:
        data["violation"] = violation
    return event("collections.agency.activity.reported", data)


class TestAgencyReports:
    """DOMAIN.md section 7: a contact an agency reports counts toward the debtor's limits."""

    async def test_a_contact_made_without_a_permit_counts_toward_the_limits(
        self, engine: AsyncEngine, settings: ContactSettings
    ) -> None:
        await apply(engine, settings, opened("A1", "C1"))
        phone = "+8613800000001"
        for minutes in (0, 60):  # cn-seed: three attempts a day
            at = MORNING + timedelta(minutes=minutes)
            assert (await _permit(engine, settings, PermitRequest("A1", Channel.CALL, phone, at)))[1]
        report = _reported(None, "no_answer", MORNING + timedelta(minutes=90), violation="no_permit")
        await apply(engine, settings, report)
        await apply(engine, settings, report)  # a repeat counts once
        _, allowed = await _permit(
            engine, settings, PermitRequest("A1", Channel.CALL, phone, MORNING + timedelta(minutes=120))
        )
        assert not allowed, "the agency's call was the third attempt of the day"
        stored = await rows(
            engine, "SELECT party_id, rule, outcome FROM permits WHERE requested_by = 'agency-report'"
        )
        assert stored == [("AG1", "no_permit", "no_answer")]
        attempted = await emitted(engine, "collections.contact.attempted")
        assert [(e["data"]["party"], e["data"]["outcome"]) for e in attempted] == [
            ({"kind": "agency", "id": "AG1"}, "no_answer")
        ]

    async def test_a_contact_made_under_the_agencys_permit_is_that_permits_outcome(
        self, engine: AsyncEngine, settings: ContactSettings
    ) -> None:
        await apply(engine, settings, opened("A1", "C1"))
        request = PermitRequest(
            "A1", Channel.CALL, "+8613800000001", MORNING, party=Party(PartyKind.AGENCY, "AG1")
        )
        permit_id, allowed = await _permit(engine, settings, request)
        assert allowed
        await apply(engine, settings, _reported(permit_id, "reached", MORNING + timedelta(minutes=5)))
        await apply(
            engine, settings, _reported(permit_id, "busy", MORNING + timedelta(minutes=9), activity="ACT-2")
        )
        assert await rows(engine, "SELECT outcome, outcome_by FROM permits") == [("reached", "agency:AG1")]

    async def test_an_outcome_on_another_agencys_permit_is_an_attempt_of_its_own(
        self, engine: AsyncEngine, settings: ContactSettings
    ) -> None:
        await apply(engine, settings, opened("A1", "C1"))
        request = PermitRequest(
            "A1", Channel.CALL, "+8613800000001", MORNING, party=Party(PartyKind.AGENCY, "AG2")
        )
        permit_id, _ = await _permit(engine, settings, request)
        await apply(engine, settings, _reported(permit_id, "reached", MORNING + timedelta(minutes=5)))
        outcomes = await rows(engine, "SELECT party_id, outcome, rule FROM permits ORDER BY decided_at")
        assert outcomes == [("AG2", None, None), ("AG1", "reached", "no_permit")]

    async def test_odd_reports_are_refused_or_counted_never_stopping_the_consumer(
        self, engine: AsyncEngine, settings: ContactSettings
    ) -> None:
        await apply(engine, settings, opened("A1", "C1"))
        no_channel = _reported(None, "busy", MORNING, activity="ACT-X")
        del no_channel["data"]["channel"]
        visit = _reported("no-such-permit", "reached", MORNING, activity="ACT-V")
        visit["data"]["kind"] = "visit"
        del visit["data"]["channel"], visit["data"]["outcome"]
        unknown_debtor = _reported(None, "refused", MORNING, violation="no_permit", activity="ACT-U")
        unknown_debtor["data"].update(customer_id="NOBODY", account_id="NOWHERE")
        promise_only = _reported(None, "reached", MORNING, activity="ACT-P")
        promise_only["data"]["kind"] = "promise"
        batch = await apply(engine, settings, no_channel, visit, unknown_debtor, promise_only)
        assert list(batch.rejected.values()) == ["a reported contact names its channel"]
        stored = await rows(
            engine, "SELECT customer_id, channel, outcome, rule FROM permits ORDER BY customer_id"
        )
        assert stored == [("C1", "visit", "unknown", "no_permit"), ("NOBODY", "call", "refused", "no_permit")]


class TestReachability:
    async def test_a_debtor_is_unreachable_after_n_failed_attempts_on_every_contact_point(
        self, engine: AsyncEngine, settings: ContactSettings
    ) -> None:
        now = datetime.now(UTC)
        phones = ("+8613800000001", "+8613800000002")
        await apply(
            engine, settings, opened("A1", "C1", timezone=zone_at(13, now), phones=phones, email=None)
        )
        reported = 0
        for days_ago in (3, 2, 1):  # cn-seed: 3 attempts a day, so two a day
            for n, phone in enumerate(phones):
                at = now - timedelta(days=days_ago, minutes=10 - n)
                permit_id, allowed = await _permit(
                    engine, settings, PermitRequest("A1", Channel.CALL, phone, at, autodialled=False)
                )
                assert allowed
                assert await emitted(engine, "collections.debtor.unreachable") == []
                await _outcome(engine, settings, permit_id, Outcome.NO_ANSWER, at + timedelta(minutes=1))
                reported += 1
        assert reported == 6
        unreachable = await emitted(engine, "collections.debtor.unreachable")
        assert [(e["data"]["customer_id"], e["data"]["account_id"]) for e in unreachable] == [("C1", "A1")]
        assert await rows(engine, "SELECT unreachable FROM cases WHERE customer_id = 'C1'") == [(True,)]


def test_zone_at_puts_the_debtor_at_the_asked_local_hour() -> None:
    from zoneinfo import ZoneInfo

    now = datetime.now(UTC)
    for hour in (0, 2, 13, 23):
        assert now.astimezone(ZoneInfo(zone_at(hour, now))).hour == hour

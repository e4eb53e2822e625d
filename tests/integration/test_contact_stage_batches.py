"""Stage changes, payments and account events applied a consumer batch at a time (set-wise)
leave exactly what one at a time leaves, against a real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from contact_service.adapters.cases import CaseRepository, HoldRow
from contact_service.bootstrap import SERVICE
from contact_service.domain.contact import ContactPoint, Owner
from contact_service.settings import ContactSettings
from contact_service.treatment import case_score
from devstack.stack import Stack
from tests.contact_harness import (
    apply,
    emitted,
    event,
    opened,
    payment_posted,
    payment_reversed,
    rows,
    stage_changed,
)

pytestmark = [pytest.mark.infra]

MORNING = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


def _at(minutes: int) -> str:
    return (MORNING + timedelta(minutes=minutes)).isoformat()


def _without_customer(body: dict[str, Any]) -> dict[str, Any]:
    body["data"]["customer_id"] = None
    return body


def scenario() -> list[dict[str, Any]]:
    """Three debtors (C1 with two accounts), moves between stages, cures, a stop flag between
    stage changes, an older assessment, a change found by its linked account, one that waits for
    its account's opening and one that can never apply (an unknown stage)."""
    return [
        opened("A1", "C1"),
        opened("A2", "C1"),
        opened("A3", "C2"),
        opened("A4", "C3"),
        stage_changed("A1", "C1", "M1", time=_at(0)),
        stage_changed("A3", "C2", "M1", time=_at(1)),
        stage_changed("A4", "C3", "M2", time=_at(2)),
        stage_changed("A2", "C1", "M2", as_of="2026-03-03", time=_at(3)),  # C1 moves on to M2
        _without_customer(stage_changed("A9", "C9", "M1", time=_at(4))),  # A9 not opened: it waits
        stage_changed("A3", "C2", "M7", time=_at(5)),  # a stage nobody knows: rejected
        _without_customer(stage_changed("A3", "C2", "M2", as_of="2026-03-04", time=_at(6))),
        stage_changed("A3", "C2", "M1", as_of="2026-03-01", time=_at(7)),  # older: changes nothing
        stage_changed("A1", "C1", "CURRENT", from_stage="M1", as_of="2026-03-05", time=_at(8)),
        event("corebank.account.updated", {"account_id": "A4", "flags": {"dispute": True}}),
        stage_changed("A4", "C3", "M3", from_stage="M2", as_of="2026-03-05", time=_at(9)),
        stage_changed("A2", "C1", "CURRENT", from_stage="M2", as_of="2026-03-06", time=_at(10)),  # cured
        stage_changed("A3", "C2", "CURRENT", from_stage="M2", as_of="2026-03-06", time=_at(11)),  # cured
    ]


async def state(engine: AsyncEngine) -> dict[str, list[tuple[object, ...]]]:
    """Everything a stage change writes, without generated ids and clocks."""
    return {
        "cases": await rows(engine, "SELECT customer_id, stage, stage_entered_at FROM cases ORDER BY 1"),
        "accounts": await rows(
            engine,
            "SELECT account_id, customer_id, currency, stage, dpd, past_due_minor, stage_as_of,"
            " flags::text FROM case_accounts ORDER BY 1",
        ),
        "planned": await rows(
            engine,
            "SELECT customer_id, account_id, stage, step, due_at, status, cancel_reason"
            " FROM planned_contacts ORDER BY 1, 3, 4, 5",
        ),
        "calls": await rows(
            engine,
            "SELECT customer_id, account_id, stage, step, due_at, status, cancel_reason, score"
            " FROM call_tasks ORDER BY 1, 3, 4, 5",
        ),
        "cures": await rows(
            engine, "SELECT account_id, as_of, customer_id, from_stage FROM cures ORDER BY 1, 2"
        ),
        "waiting": await rows(
            engine, "SELECT account_id, source, event_id FROM waiting_stage_changes ORDER BY 1, 3"
        ),
    }


@pytest.fixture
async def engines(stack: Stack, namespace: str) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    made = []
    for name in (f"{namespace}_contact_one", f"{namespace}_contact_batch"):
        stack.create_database(name)
        SERVICE.migrate(ContactSettings(database_url=stack.database_url(name)))
        made.append(create_async_engine(stack.database_url(name)))
    try:
        yield made[0], made[1]
    finally:
        for engine in made:
            await engine.dispose()


class TestStageChangesInOneBatch:
    async def test_a_batch_leaves_what_the_same_events_one_per_transaction_leave(
        self, engines: tuple[AsyncEngine, AsyncEngine]
    ) -> None:
        one, batched = engines
        settings = ContactSettings()
        events = scenario()
        rejected_one = []
        for body in events:
            rejected_one.extend((await apply(one, settings, body)).rejected.values())
        batch = await apply(batched, settings, *events)

        assert (
            sorted(batch.rejected.values())
            == sorted(rejected_one)
            == ["a stage change to a stage the contact service does not know"]
        )
        assert await state(batched) == await state(one)
        assert [a for a, _, _ in (await state(batched))["waiting"]] == ["A9"]

    async def test_cures_cancel_with_the_reason_and_moves_replace_the_plan(
        self, engines: tuple[AsyncEngine, AsyncEngine]
    ) -> None:
        _, engine = engines
        await apply(engine, ContactSettings(), *scenario())
        after = await state(engine)
        assert [(c, s) for c, s, _ in after["cases"]] == [("C1", "CURRENT"), ("C2", "CURRENT"), ("C3", "M3")]
        reasons = {
            (customer, stage, status, reason) for customer, _, stage, _, _, status, reason in after["planned"]
        }
        assert ("C1", "M1", "cancelled", "stage_changed") in reasons  # M1 -> M2 cancelled M1's work
        assert ("C1", "M2", "cancelled", "cured") in reasons
        assert {r for r in reasons if r[0] == "C2"} == {
            ("C2", "M1", "cancelled", "stage_changed"),
            ("C2", "M2", "cancelled", "cured"),
        }
        # C3's stop flag cancelled its M2 work; its later move to M3 laid out M3's plan again.
        assert ("C3", "M2", "cancelled", "stop_flag:dispute") in reasons
        assert not [r for r in after["planned"] if r[0] == "C9" or r[1] == "A9"]
        assert [(a, c) for a, _, c, _ in after["cures"]] == [("A1", "C1"), ("A2", "C1"), ("A3", "C2")]
        pending = [r for r in after["planned"] + after["calls"] if r[5] == "pending"]
        assert {r[0] for r in pending} <= {"C3"}

    async def test_many_debtors_cured_in_one_batch_have_all_their_pending_work_cancelled(
        self, engines: tuple[AsyncEngine, AsyncEngine]
    ) -> None:
        _, engine = engines
        settings = ContactSettings()
        debtors = range(300)
        await apply(
            engine,
            settings,
            *(opened(f"A{n}", f"C{n}") for n in debtors),
            *(stage_changed(f"A{n}", f"C{n}", "M2", time=_at(0)) for n in debtors),
        )
        assert await rows(engine, "SELECT count(DISTINCT customer_id) FROM call_tasks") == [(300,)]
        pending = await rows(
            engine,
            "SELECT (SELECT count(*) FROM planned_contacts WHERE status = 'pending')"
            " + (SELECT count(*) FROM call_tasks WHERE status = 'pending')",
        )
        counted = REGISTRY.get_sample_value("collections_contact_cancelled_total", {"reason": "cured"}) or 0.0
        await apply(
            engine,
            settings,
            *(
                stage_changed(f"A{n}", f"C{n}", "CURRENT", from_stage="M2", as_of="2026-03-04")
                for n in debtors
            ),
        )
        assert await rows(
            engine,
            "SELECT status, cancel_reason, count(DISTINCT customer_id) FROM"
            " (SELECT customer_id, status, cancel_reason FROM planned_contacts"
            "  UNION ALL SELECT customer_id, status, cancel_reason FROM call_tasks) AS work"
            " GROUP BY 1, 2",
        ) == [("cancelled", "cured", 300)]
        assert await rows(engine, "SELECT count(*) FROM cases WHERE stage = 'CURRENT'") == [(300,)]
        cancelled = REGISTRY.get_sample_value("collections_contact_cancelled_total", {"reason": "cured"})
        assert [(cancelled - counted,)] == pending  # every cancelled contact and task counted once


class TestStageChangesBeforeTheirOpening:
    """A stage change naming no debtor, of an account not opened yet, waits for the opening."""

    async def test_a_change_to_m1_waits_and_the_opening_applies_it_as_if_it_came_after(
        self, engines: tuple[AsyncEngine, AsyncEngine]
    ) -> None:
        first, late = engines  # the opening first; the stage change before its opening
        settings = ContactSettings()
        opening = opened("A1", "C1")
        to_m1 = _without_customer(stage_changed("A1", "C1", "M1", time=_at(0)))
        await apply(first, settings, opening, to_m1)

        for _ in range(2):  # the second time a redelivery: it changes nothing
            assert (await apply(late, settings, to_m1)).rejected == {}
            assert await rows(late, "SELECT account_id, event_id FROM waiting_stage_changes") == [
                ("A1", to_m1["id"])
            ]
            assert await rows(late, "SELECT count(*) FROM cases") == [(0,)]
        for _ in range(2):  # the second time a redelivery of the opening
            await apply(late, settings, opening)
            assert await state(late) == await state(first)
        after = await state(late)
        assert after["cases"] == [("C1", "M1", MORNING)]
        assert {(c, a, stage, status) for c, a, stage, _, _, status, _ in after["planned"]} == {
            ("C1", "A1", "M1", "pending")
        }
        assert after["waiting"] == []
        await apply(late, settings, to_m1)  # a redelivery of the stage change, now placed
        assert await state(late) == after

    async def test_the_changes_kept_apply_in_the_order_they_were_received(
        self, engines: tuple[AsyncEngine, AsyncEngine]
    ) -> None:
        first, late = engines
        settings = ContactSettings()
        changes = [
            _without_customer(stage_changed("A1", "C1", "M1", time=_at(0))),
            _without_customer(
                stage_changed("A1", "C1", "M2", from_stage="M1", dpd=35, as_of="2026-03-03", time=_at(1))
            ),
        ]
        await apply(first, settings, opened("A1", "C1"), *changes)
        await apply(late, settings, *changes)
        await apply(late, settings, opened("A1", "C1"))

        after = await state(late)
        assert after == await state(first)
        assert after["cases"] == [("C1", "M2", MORNING + timedelta(minutes=1))]
        # M1's plan was laid out, then cancelled by the move to M2 (the other way round, the
        # older M1 would change nothing and M1 would have no plan).
        assert {(stage, status, reason) for _, _, stage, _, _, status, reason in after["planned"]} == {
            ("M1", "cancelled", "stage_changed"),
            ("M2", "pending", None),
        }


class TestCasesLoadedTogether:
    async def test_load_many_gives_what_load_gives_each_debtor(
        self, engines: tuple[AsyncEngine, AsyncEngine]
    ) -> None:
        _, engine = engines
        await apply(
            engine,
            ContactSettings(),
            opened("A1", "C1", phones=("+8613800000001", "+8613800000002")),
            opened("A2", "C1", email=None),
            opened("A3", "C2"),
            event("corebank.account.updated", {"account_id": "A2", "flags": {"dispute": True}}),
            stage_changed("A1", "C1", "M1"),
            stage_changed("A3", "C2", "M2", dpd=40),
        )
        async with AsyncSession(engine) as session, session.begin():
            cases = CaseRepository(session)
            await cases.add_contact_point(
                "C1", ContactPoint("+8613900000009", Owner.GUARANTOR, "collector"), added_by="u1"
            )
            for hold_id, ends_on, ended in (
                ("H1", date(2026, 4, 30), False),
                ("H2", date(2026, 5, 31), False),
                ("H3", date(2026, 3, 31), True),
            ):
                await cases.add_hold(
                    "C1",
                    HoldRow(
                        hold_id=hold_id,
                        account_id="A1",
                        reason=f"hardship {hold_id}",
                        starts_on=date(2026, 3, 1) if hold_id == "H2" else None,
                        ends_on=ends_on,
                        set_by="u1",
                        set_at=MORNING + timedelta(minutes=int(hold_id[1])),
                        ended_on=None,
                        ended_by=None,
                    ),
                )
                if ended:
                    await cases.end_hold(hold_id, ends_on, "u1")
        async with AsyncSession(engine) as session, session.begin():
            cases = CaseRepository(session)
            one = {customer: await cases.load(customer) for customer in ("C1", "C2", "C9")}
            together = await cases.load_many(["C9", "C2", "C1", "C2"])

        assert together == one
        c1 = together["C1"].case
        assert len(c1.holds) == 2 and len(c1.profile.contact_points) == 3
        assert c1.account_flags["A2"] == {"dispute": True}
        assert not together["C9"].exists


class TestPaymentsInOneBatch:
    async def test_a_batch_of_payments_leaves_what_one_per_transaction_leaves(
        self, engines: tuple[AsyncEngine, AsyncEngine]
    ) -> None:
        one, batched = engines
        settings = ContactSettings()
        reversed_first = payment_reversed("A2", "P2")  # its reversal came before the payment
        events = [
            payment_posted("A1", "P1", 10_000, "2026-03-02"),
            payment_posted("A1", "P1", 99_999, "2026-03-09"),  # a repeat changes nothing
            payment_posted("A2", "P2", 20_000, "2026-03-03"),
            payment_posted("A1", "P3", 30_000, "2026-03-04"),
        ]
        for engine in engines:
            await apply(engine, settings, reversed_first)
        for body in events:
            await apply(one, settings, body)
        await apply(batched, settings, *events)

        query = (
            "SELECT account_id, payment_id, amount_minor, currency, value_date, reversed"
            " FROM payments ORDER BY 1, 2"
        )
        assert await rows(batched, query) == await rows(one, query)
        assert [r[:3] + r[5:] for r in await rows(batched, query)] == [
            ("A1", "P1", 10_000, False),
            ("A1", "P3", 30_000, False),
            ("A2", "P2", 20_000, True),
        ]


def _timed(body: dict[str, Any], minutes: int) -> dict[str, Any]:
    body["time"] = _at(minutes)
    return body


def updated(account_id: str, minutes: int, **data: Any) -> dict[str, Any]:
    return _timed(event("corebank.account.updated", {"account_id": account_id, **data}), minutes)


async def set_up_accounts(engine: AsyncEngine, settings: ContactSettings) -> None:
    """C1, C5 and C7 with pending work (C1 in M1, C5 and C7 in M2), two stage changes of A3
    waiting for its opening (kept in one batch, at two offsets), and a point of C1's that a
    collector added."""
    for body in [
        _timed(opened("A1", "C1"), 0),
        stage_changed("A1", "C1", "M1", time=_at(1)),
        _timed(opened("A5", "C5"), 2),
        stage_changed("A5", "C5", "M2", dpd=40, time=_at(3)),
        _timed(opened("A7", "C7"), 4),
        stage_changed("A7", "C7", "M2", dpd=40, time=_at(5)),
    ]:
        await apply(engine, settings, body)
    await apply(
        engine,
        settings,
        _without_customer(stage_changed("A3", "C3", "M1", time=_at(6))),
        _without_customer(stage_changed("A3", "C3", "M2", from_stage="M1", as_of="2026-03-03", time=_at(7))),
    )
    async with AsyncSession(engine) as session, session.begin():
        await CaseRepository(session).add_contact_point(
            "C1", ContactPoint("+8613800000099", Owner.DEBTOR, "collector"), added_by="u1"
        )


def account_scenario() -> list[dict[str, Any]]:
    """Several events of one debtor and of one account, two accounts of a debtor, flags that
    cancel, timezones that move pending work, an opening that applies the stage changes waiting
    for it, an older update, an opening of an account linked to another debtor, and events that
    can never apply."""
    return [
        # C1's second account: its pending M1 work moves to London; a phone the collector added
        # (the point stays theirs) and one given twice.
        _timed(
            opened(
                "A2",
                "C1",
                timezone="Europe/London",
                phones=("+8613800000099", "+8613800000002", "+8613800000002"),
            ),
            10,
        ),
        updated("A2", 11, holder={"phones": ["+8613800000003"], "email": "new@example.com"}),
        updated("A1", 12, flags={"hardship": True}),  # cancels C1's pending work
        updated("A2", 13, holder={"timezone": "Asia/Tokyo"}, consents={"sms": False}),
        _timed(opened("A3", "C3", language="en"), 14),  # applies A3's M1 then M2
        updated("A3", 15, flags={"dispute": True, "do_not_contact": True}),  # cancels C3's M2 work
        updated("A9", 16, flags={"dispute": True}),  # never opened: rejected
        _timed(opened("A4", "C4", timezone="Mars/Olympus"), 17),  # rejected
        updated("A4", 18, risk={"rating": "C"}),  # its opening was rejected: rejected too
        updated("A5", 19, flags={"dispute": True}),  # cancels C5's pending work
        updated("A5", 20, flags={"dispute": False}, risk={"rating": "D", "signals": ["lost_contact"]}),
        _timed(opened("A6", "C5", timezone="America/New_York", email=None), 21),  # C5's second account
        updated("A7", 22, holder={"timezone": "Europe/Paris", "language": "en"}),  # C7's work moves
        updated("A7", 9, holder={"timezone": "Asia/Tokyo"}, flags={"fraud_suspected": True}),  # older
        updated("A7", 23, holder={"timezone": "America/New_York"}, risk={"rating": "A"}),  # moves, rescored
        _timed(opened("A8", "C8"), 24),
        updated("A8", 25, holder={"phones": ["+8613800000008"]}, consents={"email": False}),
        updated("A8", 26, flags={"bankruptcy": True}, risk={"rating": "E"}),
        _timed(opened("A1", "C9", timezone="Asia/Tokyo"), 27),  # A1 stays C1's
        updated("A1", 28, risk={"rating": "B", "signals": ["multiple_lenders", "asset_transfer"]}),
        updated("A4", 29, holder={"timezone": "Atlantis/Lost"}),  # never opened: rejected
        updated("A8", 30, holder={"timezone": "Atlantis/Lost"}),  # an unknown timezone: rejected
    ]


async def profiles(engine: AsyncEngine) -> dict[str, list[tuple[object, ...]]]:
    """What an account event writes besides ``state``, without generated ids and clocks."""
    return {
        "profiles": await rows(
            engine,
            "SELECT customer_id, stage, timezone, language, consents::text, risk_rating, signals,"
            " profile_as_of, unreachable FROM cases ORDER BY 1",
        ),
        "points": await rows(
            engine,
            "SELECT customer_id, value, owner, source, added_by FROM contact_points ORDER BY customer_id, id",
        ),
    }


def cancelled(reason: str) -> float:
    return REGISTRY.get_sample_value("collections_contact_cancelled_total", {"reason": reason}) or 0.0


class TestAccountEventsInOneBatch:
    async def test_a_batch_leaves_what_the_same_events_one_per_transaction_leave(
        self, engines: tuple[AsyncEngine, AsyncEngine]
    ) -> None:
        one, batched = engines
        settings = ContactSettings()
        for engine in engines:
            await set_up_accounts(engine, settings)
        events = account_scenario()
        reasons = ("hardship_hold", "stop_flag")
        counted = [cancelled(reason) for reason in reasons]
        rejected_one = []
        for body in events:
            rejected_one.extend((await apply(one, settings, body)).rejected.values())
        counted_one = [cancelled(reason) - before for reason, before in zip(reasons, counted, strict=True)]
        batch = await apply(batched, settings, *events)
        counted_batch = [
            cancelled(reason) - before - more
            for reason, before, more in zip(reasons, counted, counted_one, strict=True)
        ]

        assert sorted(batch.rejected.values()) == sorted(rejected_one)
        assert sorted(rejected_one) == sorted(
            ["account.updated of an account the contact service never saw opened"] * 3
            + ["holder.timezone is not a known IANA time zone"] * 2
        )
        assert await state(batched) == await state(one)
        assert await profiles(batched) == await profiles(one)
        assert await emitted(batched) == await emitted(one)
        assert counted_batch == counted_one and all(counted_one)

    async def test_flags_cancel_with_the_reason_openings_apply_what_waited_and_zones_move_work(
        self, engines: tuple[AsyncEngine, AsyncEngine]
    ) -> None:
        _, engine = engines
        settings = ContactSettings()
        await set_up_accounts(engine, settings)
        planned_before = await rows(
            engine, "SELECT due_at FROM planned_contacts WHERE customer_id = 'C7' ORDER BY due_at"
        )
        scores = "SELECT DISTINCT score FROM call_tasks WHERE customer_id = 'C7' AND status = 'pending'"
        scored_before = await rows(engine, scores)
        await apply(engine, settings, *account_scenario())
        after = await state(engine)
        reasons = {(c, stage, status, reason) for c, _, stage, _, _, status, reason in after["planned"]}
        assert {r for r in reasons if r[0] == "C1"} == {("C1", "M1", "cancelled", "hardship_hold")}
        assert {r for r in reasons if r[0] == "C3"} == {
            ("C3", "M1", "cancelled", "stage_changed"),
            ("C3", "M2", "cancelled", "stop_flag:dispute,do_not_contact"),
        }
        assert {r for r in reasons if r[0] == "C5"} == {("C5", "M2", "cancelled", "stop_flag:dispute")}
        assert after["waiting"] == []
        # C7's M2 work keeps its local days and hours in its latest timezone, New York.
        planned_after = await rows(
            engine, "SELECT due_at FROM planned_contacts WHERE customer_id = 'C7' ORDER BY due_at"
        )
        assert len(planned_after) == len(planned_before) > 0
        for (before,), (moved,) in zip(planned_before, planned_after, strict=True):
            assert isinstance(before, datetime) and isinstance(moved, datetime)
            shanghai, new_york = (
                before.astimezone(ZoneInfo("Asia/Shanghai")),
                moved.astimezone(ZoneInfo("America/New_York")),
            )
            assert (shanghai.date(), shanghai.time()) == (new_york.date(), new_york.time())
        async with AsyncSession(engine) as session:
            c7 = await CaseRepository(session).load("C7")
        # Rescored on its risk rating, A.
        assert await rows(engine, scores) == [(case_score(c7.case, c7.unreachable),)] != scored_before
        found = {customer: rest for customer, *rest in (await profiles(engine))["profiles"]}
        assert found["C7"][1:3] == ["America/New_York", "en"]
        assert found["C1"][4:6] == ["B", ["asset_transfer", "multiple_lenders"]]
        assert "C4" not in found and "C9" in found
        points = (await profiles(engine))["points"]
        assert [(value, source) for c, value, _, source, _ in points if c == "C1"] == [
            ("+8613800000099", "collector"),
            ("+8613800000003", "core_banking"),
            ("new@example.com", "core_banking"),
        ]
        accounts = {a: (c, flags) for a, c, _, _, _, _, _, flags in after["accounts"]}
        assert accounts["A1"][0] == "C1"
        assert accounts["A8"] == ("C8", '{"bankruptcy": true}')

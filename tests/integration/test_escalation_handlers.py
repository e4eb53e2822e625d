"""The escalation consumers against a real PostgreSQL: rules acting once, placements, recalls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from collections_common.runtime import Outbox
from devstack.stack import Stack
from escalation_service import effects
from escalation_service.bootstrap import SERVICE
from escalation_service.dispatcher import PlacementGauges
from escalation_service.effects import Work
from escalation_service.metrics import PLACEMENTS_ACTIVE, RECALLS
from escalation_service.settings import EscalationSettings
from tests import escalation_events as ev
from tests.integration.escalation_db import apply, emitted, rows

pytestmark = [pytest.mark.infra]

M3_DAY = "2026-03-27"
M3PLUS_DAY = "2026-04-26"


@pytest.fixture
async def engine(stack: Stack, namespace: str) -> AsyncIterator[AsyncEngine]:
    database = f"{namespace}_escalation"
    stack.create_database(database)
    url = stack.database_url(database)
    SERVICE.migrate(EscalationSettings(database_url=url))
    engine = create_async_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def settings() -> EscalationSettings:
    return EscalationSettings(environment="test")


def _to_m3(account: str, customer: str, past_due: int = 1_200_000, **kw: str) -> dict[str, object]:
    return ev.stage_changed(
        account, customer, "M2", "M3", past_due_minor=past_due, dpd=61, as_of=M3_DAY, **kw
    )


class TestStageRules:
    async def test_entering_m3_issues_a_letter_and_schedules_a_visit_each_decision_naming_its_rule_and_facts(
        self, engine: AsyncEngine, settings: EscalationSettings
    ) -> None:
        await apply(engine, settings, [ev.account_opened("A1", "C1"), _to_m3("A1", "C1")])
        letters = await rows(engine, "SELECT status, rule_id, past_due_minor, language FROM letters")
        assert letters == [
            {
                "status": "pending",
                "rule_id": "demand-letter",
                "past_due_minor": 1_200_000,
                "language": "zh-CN",
            }
        ]
        visits = await rows(engine, "SELECT status, customer_id FROM visits")
        assert visits == [{"status": "scheduled", "customer_id": "C1"}]
        decisions = {
            d["rule_id"]: d["facts"]
            for d in await rows(engine, "SELECT rule_id, facts FROM decisions ORDER BY seq")
        }
        assert decisions["demand-letter"]["entered"] == "M3"
        assert decisions["home-visit"]["debtor_past_due_minor"] == 1_200_000
        assert decisions["home-visit"]["address_known"] is True
        assert [e["data"]["customer_id"] for e in await emitted(engine, "collections.visit.scheduled")] == [
            "C1"
        ]

    async def test_a_visit_needs_the_amount_a_letter_does_not(
        self, engine: AsyncEngine, settings: EscalationSettings
    ) -> None:
        await apply(engine, settings, [ev.account_opened("A1", "C1"), _to_m3("A1", "C1", past_due=999_999)])
        assert len(await rows(engine, "SELECT * FROM letters")) == 1
        assert await rows(engine, "SELECT * FROM visits") == []

    async def test_the_same_stage_change_twice_under_two_event_ids_acts_once(
        self, engine: AsyncEngine, settings: EscalationSettings
    ) -> None:
        # a jump from CURRENT starts an episode: only the change's facts tell a repeat from a new one
        first = ev.stage_changed(
            "A1", "C1", "CURRENT", "M3", past_due_minor=1_200_000, dpd=61, as_of=M3_DAY, cause_event_id="c-1"
        )
        again = ev.stage_changed(
            "A1", "C1", "CURRENT", "M3", past_due_minor=1_200_000, dpd=61, as_of=M3_DAY, cause_event_id="c-1"
        )
        assert first["event"]["id"] != again["event"]["id"]  # type: ignore[index]
        await apply(engine, settings, [ev.account_opened("A1", "C1"), first])
        await apply(engine, settings, [again])
        assert len(await rows(engine, "SELECT * FROM letters")) == 1
        assert len(await rows(engine, "SELECT * FROM visits")) == 1
        assert len(await emitted(engine, "collections.visit.scheduled")) == 1

    async def test_a_jump_from_current_to_m3plus_enters_every_stage_once(
        self, engine: AsyncEngine, settings: EscalationSettings
    ) -> None:
        jump = ev.stage_changed(
            "A1", "C1", "CURRENT", "M3+", past_due_minor=2_000_000, dpd=95, as_of=M3PLUS_DAY
        )
        await apply(
            engine,
            settings,
            [ev.agency("AG1", regions=["Shanghai"], capacity=5), ev.account_opened("A1", "C1"), jump],
        )
        rules = sorted(r["rule_id"] for r in await rows(engine, "SELECT rule_id FROM decisions"))
        assert rules == ["agency-placement", "bureau-flag", "demand-letter", "home-visit"]


class TestPlacementAndCure:
    async def test_m3plus_places_with_the_region_s_agency_flags_the_bureau_and_a_cure_closes_both(
        self, engine: AsyncEngine, settings: EscalationSettings
    ) -> None:
        await apply(
            engine,
            settings,
            [
                ev.agency("AG-NORTH", regions=["Beijing"], capacity=10),
                ev.agency("AG-EAST", regions=["Shanghai"], capacity=10),
                ev.account_opened("A1", "C1"),
                _to_m3("A1", "C1"),
                ev.stage_changed("A1", "C1", "M3", "M3+", past_due_minor=1_500_000, dpd=91, as_of=M3PLUS_DAY),
            ],
        )
        [placed] = await emitted(engine, "collections.case.placed")
        data = placed["data"]
        assert data["agency_id"] == "AG-EAST" and data["case_id"] == "C1"
        assert data["debtor"]["name"] == "张三" and data["debtor"]["national_id_last4"] == "1234"
        assert data["debtor"]["region"] == "Shanghai"
        assert data["ends_on"] == "2026-07-25" and data["past_due_minor"] == 1_500_000
        [decision] = await rows(engine, "SELECT outcome FROM decisions WHERE rule_id = 'agency-placement'")
        lost = {c["agency_id"]: c["lost_because"] for c in decision["outcome"]["candidates"]}
        assert lost["AG-NORTH"].startswith("region")
        assert len(await emitted(engine, "collections.bureau.flagged")) == 1

        recalls_before = RECALLS.labels("cure")._value.get()
        gauges = PlacementGauges(settings, engine)
        await gauges.refresh()
        assert PLACEMENTS_ACTIVE.labels("AG-EAST")._value.get() == 1
        await apply(
            engine,
            settings,
            [ev.stage_changed("A1", "C1", "M3+", "CURRENT", past_due_minor=0, dpd=0, as_of="2026-05-02")],
        )
        assert RECALLS.labels("cure")._value.get() == recalls_before + 1
        await gauges.refresh()
        assert PLACEMENTS_ACTIVE.labels("AG-EAST")._value.get() == 0
        [recalled] = await emitted(engine, "collections.case.recalled")
        assert recalled["data"]["reason"] == "cure" and recalled["data"]["agency_id"] == "AG-EAST"
        assert len(await emitted(engine, "collections.bureau.cleared")) == 1
        assert await rows(engine, "SELECT recall_reason FROM placements") == [{"recall_reason": "cure"}]

    async def test_an_agency_past_its_review_or_inactive_gets_no_case(
        self, engine: AsyncEngine, settings: EscalationSettings
    ) -> None:
        await apply(
            engine,
            settings,
            [
                ev.agency("AG-LATE", regions=["Shanghai"], capacity=10, review_due="2026-01-31"),
                ev.agency("AG-OFF", regions=["Shanghai"], capacity=10, active=False),
                ev.account_opened("A1", "C1"),
                ev.stage_changed("A1", "C1", "M3", "M3+", past_due_minor=1_500_000, dpd=91, as_of=M3PLUS_DAY),
            ],
        )
        assert await emitted(engine, "collections.case.placed") == []
        [decision] = await rows(engine, "SELECT outcome FROM decisions WHERE rule_id = 'agency-placement'")
        refused = {c["agency_id"]: c["refused"] for c in decision["outcome"]["candidates"]}
        assert refused == {"AG-LATE": "annual review was due on 2026-01-31", "AG-OFF": "inactive"}
        # once reviewed, the case waiting for an agency is placed
        await apply(engine, settings, [ev.agency("AG-LATE", regions=["Shanghai"], capacity=10, updated=True)])
        [placed] = await emitted(engine, "collections.case.placed")
        assert placed["data"]["agency_id"] == "AG-LATE"

    async def test_a_debtor_with_a_stop_flag_is_not_placed_until_it_is_lifted(
        self, engine: AsyncEngine, settings: EscalationSettings
    ) -> None:
        await apply(
            engine,
            settings,
            [
                ev.agency("AG1", regions=["Shanghai"], capacity=10),
                ev.account_opened("A1", "C1"),
                ev.flags("A1", dispute=True),
                ev.stage_changed("A1", "C1", "M3", "M3+", past_due_minor=1_500_000, dpd=91, as_of=M3PLUS_DAY),
            ],
        )
        assert await emitted(engine, "collections.case.placed") == []
        await apply(engine, settings, [ev.flags("A1", dispute=False), ev.day_closed("2026-04-27")])
        assert len(await emitted(engine, "collections.case.placed")) == 1

    @pytest.mark.parametrize("trigger", ["stop_flag", "complaint", "expiry"])
    async def test_a_placement_is_recalled_on_a_stop_flag_a_complaint_or_its_expiry(
        self, engine: AsyncEngine, settings: EscalationSettings, trigger: str
    ) -> None:
        await apply(
            engine,
            settings,
            [
                ev.agency("AG1", regions=["Shanghai"], capacity=10),
                ev.account_opened("A1", "C1"),
                ev.stage_changed("A1", "C1", "M3", "M3+", past_due_minor=1_500_000, dpd=91, as_of=M3PLUS_DAY),
            ],
        )
        later = {
            "stop_flag": ev.flags("A1", do_not_contact=True),
            "complaint": ev.complaint("A1", "C1", "AG1"),
            "expiry": ev.day_closed("2026-07-24"),  # ends_on 2026-07-25 is the day after
        }[trigger]
        await apply(engine, settings, [later])
        [recalled] = await emitted(engine, "collections.case.recalled")
        assert recalled["data"]["reason"] == trigger


class TestCapacityUnderRace:
    async def test_concurrent_placements_on_an_agency_with_capacity_one_place_exactly_one(
        self, engine: AsyncEngine, settings: EscalationSettings
    ) -> None:
        debtors = [f"C{n}" for n in range(10)]
        await apply(
            engine,
            settings,
            [ev.agency("AG1", regions=["Shanghai"], capacity=1)]
            + [ev.account_opened(f"A-{c}", c) for c in debtors]
            + [
                ev.stage_changed(f"A-{c}", c, "M3", "M3", past_due_minor=100, dpd=80, as_of=M3PLUS_DAY)
                for c in debtors
            ],
        )
        start = asyncio.Event()

        async def place(customer: str) -> bool:
            async with AsyncSession(engine) as session:
                await session.begin()
                await start.wait()
                work = Work(session, Outbox(session), settings, date(2026, 4, 26))
                outcome = await effects.place(
                    work, f"race:{customer}", "agency-placement", f"A-{customer}", customer
                )
                await work.outbox.flush()
                await session.commit()
                return bool(outcome["placed"])

        tasks = [asyncio.create_task(place(c)) for c in debtors]
        await asyncio.sleep(0.2)
        start.set()
        results = await asyncio.gather(*tasks)
        assert results.count(True) == 1
        assert len(await rows(engine, "SELECT * FROM placements WHERE agency_id = 'AG1'")) == 1


class TestRestructuring:
    async def test_hardship_with_willingness_gives_an_offer(
        self, engine: AsyncEngine, settings: EscalationSettings
    ) -> None:
        await apply(engine, settings, [ev.account_opened("A1", "C1"), _to_m3("A1", "C1")])
        await apply(engine, settings, [ev.hardship("A1", "C1", willing=False)])
        assert await rows(engine, "SELECT * FROM offers") == []
        await apply(engine, settings, [ev.hardship("A1", "C1", willing=True)])
        [offer] = await rows(engine, "SELECT status, outstanding_minor, instalments FROM offers")
        assert offer == {"status": "offered", "outstanding_minor": 1_200_000, "instalments": 12}
        [offered] = await emitted(engine, "collections.restructuring.offered")
        assert offered["data"]["rule"] == "restructuring-offer"


class TestHolderFacts:
    async def test_a_language_region_and_signal_of_any_length_are_kept_as_sent(
        self, engine: AsyncEngine, settings: EscalationSettings
    ) -> None:
        """The contract bounds none of them; a long one is stored, not refused by the database."""
        long_signal = "s" * 300
        await apply(engine, settings, [ev.account_opened("A1", "C1", region="r" * 200, language="x" * 5_000)])
        await apply(
            engine,
            settings,
            [ev.event("corebank.account.updated", {"account_id": "A1", "risk": {"signals": [long_signal]}})],
        )
        [account] = await rows(
            engine, "SELECT language, region, signals FROM accounts WHERE account_id = 'A1'"
        )
        assert account == {"language": "x" * 5_000, "region": "r" * 200, "signals": [long_signal]}

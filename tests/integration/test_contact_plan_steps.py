"""A stage's plan is stored one contact of each step at a time: the next of a step is laid out when
the one before is done with (sent, blocked, its call made), so a cancellation touches one row
per step, and nothing follows a cancelled contact. Real PostgreSQL, the real sender and the
provider sandbox."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from contact_service.adapters.cases import CaseRepository
from contact_service.adapters.work import WorkRepository
from contact_service.bootstrap import SERVICE
from contact_service.plans import DEFAULT_PLAN, load_plan
from contact_service.sender import ContactSender
from contact_service.settings import ContactSettings
from contact_service.treatment import schedule_next
from devstack.stack import Stack
from tests.auth_tokens import StaffTokens
from tests.contact_harness import ContactApi, apply, opened, rows, stage_changed, zone_at
from tests.e2e.contact_stack import Sandbox

pytestmark = [pytest.mark.infra]

HORIZON = timedelta(days=30)

DAILY_SMS = """\
languages: [zh-CN, en]
default_language: zh-CN
opt_out: {zh-CN: "回复TD退订", en: "Reply STOP to opt out."}
stages:
  M1:
    steps:
      - {channel: sms, day: 0, every_days: 1, until_day: 3, at: "10:00", template: m1_reminder_sms,
         priority: 50}
  M2:
    steps:
      - {channel: call, day: 0, every_days: 2, at: "10:00", template: m2_call_script, priority: 60}
"""


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    started = Sandbox(tmp_path_factory.mktemp("plan-steps-sandbox")).start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def api(stack: Stack, settings: ContactSettings, namespace: str, tmp_path: Path) -> Iterator[ContactApi]:
    config = {"PLAN_FILE": str(settings.plan_file)}
    started = ContactApi(stack, f"{namespace}_contact", StaffTokens(tmp_path / "jwks.json"), tmp_path, config)
    try:
        yield started.start()
    finally:
        started.stop()


@pytest.fixture
def settings(stack: Stack, namespace: str, sandbox: Sandbox, tmp_path: Path) -> ContactSettings:
    name = f"{namespace}_contact"
    stack.create_database(name)
    shutil.copytree(DEFAULT_PLAN.with_name("templates"), tmp_path / "templates")
    (tmp_path / "plan.yaml").write_text(DAILY_SMS, encoding="utf-8")
    settings = ContactSettings(
        database_url=stack.database_url(name),
        plan_file=tmp_path / "plan.yaml",
        sms_url=sandbox.env["SMS_URL"],
        push_url=sandbox.env["PUSH_URL"],
        ivr_url=sandbox.env["IVR_URL"],
        smtp_port=int(sandbox.env["SMTP_PORT"]),
    )
    SERVICE.migrate(settings)
    return settings


def _local_days(due: list[tuple[str, datetime]], zone: str) -> list[tuple[str, int]]:
    return [(status, at.astimezone(ZoneInfo(zone)).day) for status, at in due]


class TestOneContactOfEachStep:
    async def test_a_sent_contact_lays_out_its_steps_next_and_a_cure_cancels_the_one_pending(
        self, engine: AsyncEngine, settings: ContactSettings
    ) -> None:
        now = datetime.now(UTC)
        zone = zone_at(13, now)  # the day's 10:00 reminder is due, and sending is allowed
        today = now.astimezone(ZoneInfo(zone)).day
        await apply(
            engine,
            settings,
            opened("SE1", "SE", timezone=zone),
            opened("NO1", "NO", timezone=zone, phones=[]),  # nothing to send an SMS to
            stage_changed("SE1", "SE", "M1", time=now.isoformat()),
            stage_changed("NO1", "NO", "M1", time=now.isoformat()),
        )
        query = "SELECT status, due_at FROM planned_contacts WHERE customer_id = '{}' ORDER BY due_at"
        assert _local_days(await rows(engine, query.format("SE")), zone) == [("pending", today)], (
            "the step's first contact only, not its four days"
        )

        sender = ContactSender(settings, engine)
        try:
            assert await sender.tick() == 1
        finally:
            await sender.providers.close()

        tomorrow = (now.astimezone(ZoneInfo(zone)) + timedelta(days=1)).day
        assert _local_days(await rows(engine, query.format("SE")), zone) == [
            ("sent", today),
            ("pending", tomorrow),
        ]
        assert _local_days(await rows(engine, query.format("NO")), zone) == [
            ("blocked", today),
            ("pending", tomorrow),
        ], "a blocked contact is done with too: the step goes on"

        await apply(
            engine, settings, stage_changed("SE1", "SE", "CURRENT", from_stage="M1", time=now.isoformat())
        )
        after_cure = (
            "SELECT status, cancel_reason FROM planned_contacts WHERE customer_id = 'SE' ORDER BY due_at"
        )
        assert await rows(engine, after_cure) == [("sent", None), ("cancelled", "cured")]

        # Delinquent again the same day: the step's first contact was sent, so it goes on from
        # the next one (cancelled by the cure, pending again).
        await apply(
            engine, settings, stage_changed("SE1", "SE", "M1", from_stage="CURRENT", time=now.isoformat())
        )
        assert _local_days(await rows(engine, query.format("SE")), zone) == [
            ("sent", today),
            ("pending", tomorrow),
        ]

    async def test_a_call_made_lays_out_the_next_call_and_none_follows_once_the_case_left_the_stage(
        self, engine: AsyncEngine, settings: ContactSettings, api: ContactApi
    ) -> None:
        now = datetime.now(UTC)
        zone = zone_at(13, now)
        await apply(
            engine,
            settings,
            opened("KE1", "KE", timezone=zone),
            opened("LE1", "LE", timezone=zone, phones=["+8613800000002"]),
            stage_changed("KE1", "KE", "M2", dpd=35, time=now.isoformat()),
            stage_changed("LE1", "LE", "M2", dpd=35, time=now.isoformat()),
        )
        tasks = "SELECT status, due_at FROM call_tasks WHERE customer_id = '{}' ORDER BY due_at"
        [(_, first_due)] = await rows(engine, tasks.format("KE"))
        url = f"{api.url}/v1/call-tasks"
        async with httpx.AsyncClient(timeout=30) as client:
            alice = (await client.post(f"{url}/next", headers=api.headers("collector"))).json()["task"]
            bob = (await client.post(f"{url}/next", headers=api.headers("collector", subject="bob"))).json()[
                "task"
            ]
            assert {alice["customer_id"], bob["customer_id"]} == {"KE", "LE"}
            kept, left = (alice, bob) if alice["customer_id"] == "KE" else (bob, alice)
            # LE pays up while their collector is on the call: the cure cancels the task.
            await apply(
                engine, settings, stage_changed("LE1", "LE", "CURRENT", from_stage="M2", time=now.isoformat())
            )
            answers = [
                await client.post(
                    f"{url}/{task['task_id']}/outcome",
                    json={"outcome": "no_answer"},
                    headers=api.headers("collector", subject=task["locked_by"]),
                )
                for task in (kept, left)
            ]
        assert [a.status_code for a in answers] == [200, 409], answers[1].text

        assert await rows(engine, tasks.format("KE")) == [
            ("done", first_due),
            ("pending", first_due + timedelta(days=2)),
        ], "the step's next call, two days on"
        assert [status for status, _ in await rows(engine, tasks.format("LE"))] == ["cancelled"], (
            "nothing follows a cancelled call"
        )

    async def test_nothing_is_laid_out_for_a_case_no_longer_in_the_stage(
        self, engine: AsyncEngine, settings: ContactSettings
    ) -> None:
        now = datetime.now(UTC)
        await apply(
            engine,
            settings,
            opened("GO1", "GO", timezone=zone_at(13, now)),
            stage_changed("GO1", "GO", "M1", time=now.isoformat()),
        )
        async with AsyncSession(engine) as session, session.begin():
            [(row, _)] = await WorkRepository(session).planned_of("GO")
        await apply(
            engine, settings, stage_changed("GO1", "GO", "CURRENT", from_stage="M1", time=now.isoformat())
        )
        async with AsyncSession(engine) as session, session.begin():
            cases = CaseRepository(session)
            await cases.lock("GO")
            await schedule_next(
                session, load_plan(settings.plan_file).plan, await cases.load("GO"), row, HORIZON
            )
        assert await rows(engine, "SELECT status FROM planned_contacts WHERE customer_id = 'GO'") == [
            ("cancelled",)
        ]

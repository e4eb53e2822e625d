"""The escalation API on a real PostgreSQL: roles, the work on letters, visits, offers, legal files
and placements, who did each action, filters, cursor pages and precise 4xx answers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from devstack.stack import Stack
from escalation_service.bootstrap import SERVICE, create_api
from escalation_service.settings import EscalationSettings
from tests import escalation_events as ev
from tests.auth_tokens import AUDIENCE, ISSUER, StaffTokens
from tests.integration.escalation_db import apply, emitted, rows

pytestmark = [pytest.mark.infra]

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def tokens(tmp_path: Path) -> StaffTokens:
    return StaffTokens(tmp_path / "jwks.json")


@pytest.fixture
async def setup(
    stack: Stack, namespace: str, tokens: StaffTokens
) -> AsyncIterator[tuple[AsyncEngine, EscalationSettings, httpx.AsyncClient]]:
    database = f"{namespace}_escalation"
    url = stack.create_database(database)
    settings = EscalationSettings(
        environment="test",
        database_url=url,
        auth_jwks_url=str(tokens.jwks_path),
        auth_issuer=ISSUER,
        auth_audience=AUDIENCE,
    )
    SERVICE.migrate(settings)
    engine = create_async_engine(url)
    app = create_api(settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://escalation"
    ) as client:
        yield engine, settings, client
    await engine.dispose()


def auth(tokens: StaffTokens, *roles: str, subject: str = "alice") -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.token(*roles, subject=subject)}"}


async def _debtor_at_m3plus(
    engine: AsyncEngine, settings: EscalationSettings, past_due: int = 1_500_000
) -> None:
    await apply(
        engine,
        settings,
        [
            ev.day_closed("2026-04-25"),
            ev.agency("AG1", regions=["Shanghai"], capacity=10),
            ev.account_opened("A1", "C1"),
            ev.stage_changed("A1", "C1", "M2", "M3", past_due_minor=past_due, dpd=61, as_of="2026-03-27"),
            ev.stage_changed("A1", "C1", "M3", "M3+", past_due_minor=past_due, dpd=91, as_of="2026-04-26"),
        ],
    )


class TestRoles:
    async def test_no_token_is_401_and_a_role_not_admitted_is_403(
        self, setup: Any, tokens: StaffTokens
    ) -> None:
        _, _, client = setup
        assert (await client.get("/v1/letters")).status_code == 401
        assert (await client.get("/v1/letters", headers=auth(tokens, "collector"))).status_code == 403
        assert (await client.get("/v1/letters", headers=auth(tokens, "legal"))).status_code == 200


class TestLetters:
    async def test_letters_page_by_cursor_and_filter_by_status(self, setup: Any, tokens: StaffTokens) -> None:
        engine, settings, client = setup
        items = [ev.account_opened(f"A{n}", f"C{n}") for n in range(3)]
        items += [
            ev.stage_changed(f"A{n}", f"C{n}", "M2", "M3", past_due_minor=500_000, dpd=61, as_of="2026-03-27")
            for n in range(3)
        ]
        await apply(engine, settings, items)
        headers = auth(tokens, "supervisor")
        first = (await client.get("/v1/letters", params={"limit": 2}, headers=headers)).json()
        assert len(first["items"]) == 2 and first["next_cursor"]
        second = (
            await client.get(
                "/v1/letters", params={"limit": 2, "cursor": first["next_cursor"]}, headers=headers
            )
        ).json()
        assert len(second["items"]) == 1 and second["next_cursor"] is None
        seen = {i["account_id"] for i in first["items"] + second["items"]}
        assert seen == {"A0", "A1", "A2"}
        assert (await client.get("/v1/letters", params={"status": "sent"}, headers=headers)).json()[
            "items"
        ] == []
        bad = await client.get("/v1/letters", params={"cursor": "not-a-cursor"}, headers=headers)
        assert bad.status_code == 400 and bad.json()["detail"].startswith("cursor")
        assert (
            await client.get("/v1/letters", params={"status": "lost"}, headers=headers)
        ).status_code == 422

    async def test_a_supervisor_cancels_an_unsent_letter_and_it_records_who(
        self, setup: Any, tokens: StaffTokens
    ) -> None:
        engine, settings, client = setup
        await apply(
            engine,
            settings,
            [
                ev.account_opened("A1", "C1"),
                ev.stage_changed("A1", "C1", "M2", "M3", past_due_minor=500_000, dpd=61, as_of="2026-03-27"),
            ],
        )
        [letter] = await rows(engine, "SELECT letter_id FROM letters")
        path = f"/v1/letters/{letter['letter_id']}"
        headers = auth(tokens, "supervisor", subject="sup-1")
        done = await client.post(f"{path}/cancel", json={"reason": "wrong address"}, headers=headers)
        assert done.status_code == 200 and done.json()["status"] == "cancelled"
        assert done.json()["updated_by"] == "staff:sup-1"
        again = await client.post(f"{path}/cancel", json={"reason": "again"}, headers=headers)
        assert again.status_code == 409
        assert (await client.get("/v1/letters/NOPE", headers=headers)).status_code == 404


class TestVisits:
    async def _arranged(self, setup: Any, tokens: StaffTokens) -> str:
        engine, settings, client = setup
        await _debtor_at_m3plus(engine, settings)
        [visit] = await rows(engine, "SELECT visit_id FROM visits")
        path = f"/v1/visits/{visit['visit_id']}"
        headers = auth(tokens, "field", subject="f-1")
        prepared = await client.post(
            f"{path}/prepare",
            json={"materials": ["demand notice", "repayment agreement"], "plan": "explain options"},
            headers=headers,
        )
        assert prepared.status_code == 200, prepared.text
        arranged = await client.post(
            f"{path}/arrange",
            json={
                "visit_at": "2026-05-06T10:00:00+08:00",
                "arranged_at": "2026-05-02T09:00:00+08:00",
                "permit_id": "PRM-1",
            },
            headers=headers,
        )
        assert arranged.status_code == 200, arranged.text
        return path

    async def test_completing_with_fewer_than_two_staff_or_no_record_is_422(
        self, setup: Any, tokens: StaffTokens
    ) -> None:
        _, _, client = setup
        path = await self._arranged(setup, tokens)
        headers = auth(tokens, "field", subject="f-1")
        one = {
            "staff": [{"staff_id": "f-1", "name": "Li Wei"}],
            "outcome": "promise_to_pay",
            "record_ref": "REC-1",
            "completed_at": "2026-05-06T11:00:00+08:00",
        }
        alone = await client.post(f"{path}/complete", json=one, headers=headers)
        assert alone.status_code == 422 and "at least 2 distinct staff" in alone.json()["detail"]
        two_no_record = {
            **one,
            "staff": one["staff"] + [{"staff_id": "f-2", "name": "Wang Fang"}],
            "record_ref": " ",
        }
        unrecorded = await client.post(f"{path}/complete", json=two_no_record, headers=headers)
        assert unrecorded.status_code == 422 and "record_ref" in unrecorded.json()["detail"]

    async def test_two_named_field_staff_complete_it_and_it_is_emitted(
        self, setup: Any, tokens: StaffTokens
    ) -> None:
        engine, _, client = setup
        path = await self._arranged(setup, tokens)
        body = {
            "staff": [{"staff_id": "f-1", "name": "Li Wei"}, {"staff_id": "f-2", "name": "Wang Fang"}],
            "outcome": "promise_to_pay",
            "record_ref": "REC-1",
            "completed_at": "2026-05-06T11:00:00+08:00",
        }
        done = await client.post(f"{path}/complete", json=body, headers=auth(tokens, "field", subject="f-1"))
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "completed" and done.json()["updated_by"] == "staff:f-1"
        [event] = await emitted(engine, "collections.visit.completed")
        assert event["data"]["staff"] == ["f-1", "f-2"] and event["data"]["record_ref"] == "REC-1"
        assert (
            await client.post(f"{path}/complete", json=body, headers=auth(tokens, "field", subject="f-1"))
        ).status_code == 409


class TestVisitDebtor:
    async def test_the_field_team_reads_the_debtor_s_address_and_the_read_is_audited(
        self, setup: Any, tokens: StaffTokens
    ) -> None:
        engine, settings, client = setup
        await _debtor_at_m3plus(engine, settings)
        [visit] = await rows(engine, "SELECT visit_id FROM visits")
        path = f"/v1/visits/{visit['visit_id']}/debtor"
        assert (await client.get(path, headers=auth(tokens, "supervisor"))).status_code == 403
        answer = await client.get(path, headers=auth(tokens, "field", subject="f-9"))
        assert answer.status_code == 200 and answer.json()["address"]["line1"] == "1 Nanjing Road"
        [read] = await rows(engine, "SELECT actor_id, subject_id, fields, route FROM personal_data_reads")
        assert read == {
            "actor_id": "f-9",
            "subject_id": "C1",
            "fields": ["address", "name", "phones"],
            "route": "GET /v1/visits/{visit_id}/debtor",
        }


class TestOffers:
    async def test_accepting_emits_the_agreed_plan_valid_by_its_schema_and_recalls_the_placement(
        self, setup: Any, tokens: StaffTokens
    ) -> None:
        engine, settings, client = setup
        await _debtor_at_m3plus(engine, settings)
        headers = auth(tokens, "collector", subject="col-1")
        made = await client.post(
            "/v1/offers",
            json={
                "account_id": "A1",
                "instalments": 24,
                "fee_minor": 12_000,
                "fee_reduction_basis_points": 5000,
                "first_due_date": "2026-05-26",
            },
            headers=headers,
        )
        assert made.status_code == 201, made.text
        offer = made.json()
        assert offer["status"] == "offered" and offer["made_by"] == "staff:col-1"
        accepted = await client.post(f"/v1/offers/{offer['offer_id']}/accept", headers=headers)
        assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
        [agreed] = await emitted(engine, "collections.restructuring.agreed")
        schema = json.loads(
            (REPO / "contracts/events/collections.restructuring.agreed.schema.json").read_text()
        )
        jsonschema.validate(agreed, schema)
        assert agreed["data"]["total_minor"] == 1_506_000 and len(agreed["data"]["schedule"]) == 24
        [recalled] = await emitted(engine, "collections.case.recalled")
        assert recalled["data"]["reason"] == "restructuring"
        again = await client.post(f"/v1/offers/{offer['offer_id']}/decline", headers=headers)
        assert again.status_code == 409

    async def test_an_agreed_plan_whose_instalment_is_not_paid_in_time_breaks_and_opens_a_legal_file(
        self, setup: Any, tokens: StaffTokens
    ) -> None:
        engine, settings, client = setup
        await _debtor_at_m3plus(engine, settings)
        headers = auth(tokens, "collector")
        made = await client.post(
            "/v1/offers",
            json={"account_id": "A1", "instalments": 3, "first_due_date": "2026-05-26"},
            headers=headers,
        )
        offer_id = made.json()["offer_id"]
        assert (await client.post(f"/v1/offers/{offer_id}/accept", headers=headers)).status_code == 200
        await apply(engine, settings, [ev.day_closed("2026-05-25")])  # on the due date it may still be paid
        assert await emitted(engine, "collections.legal.opened") == []
        await apply(engine, settings, [ev.day_closed("2026-05-26")])  # the due date is over, unpaid
        [opened] = await emitted(engine, "collections.legal.opened")
        assert opened["data"]["reason"] == "restructuring_broken"
        assert (await client.get(f"/v1/offers/{offer_id}", headers=headers)).json()["status"] == "broken"

    async def test_bad_terms_are_422_and_an_unknown_account_404(
        self, setup: Any, tokens: StaffTokens
    ) -> None:
        engine, settings, client = setup
        await _debtor_at_m3plus(engine, settings)
        headers = auth(tokens, "supervisor")
        too_many = {"account_id": "A1", "instalments": 61, "first_due_date": "2026-05-26"}
        assert (await client.post("/v1/offers", json=too_many, headers=headers)).status_code == 422
        past = {"account_id": "A1", "instalments": 6, "first_due_date": "2026-04-01"}
        response = await client.post("/v1/offers", json=past, headers=headers)
        assert response.status_code == 422 and "first instalment" in response.json()["detail"]
        unknown = {"account_id": "NOPE", "instalments": 6, "first_due_date": "2026-05-26"}
        assert (await client.post("/v1/offers", json=unknown, headers=headers)).status_code == 404


class TestLegalFiles:
    async def test_legal_records_dated_steps_in_order(self, setup: Any, tokens: StaffTokens) -> None:
        engine, settings, client = setup
        await _debtor_at_m3plus(engine, settings, past_due=6_000_000)
        headers = auth(tokens, "legal", subject="law-1")
        [legal_file] = (await client.get("/v1/legal-files", params={"open": True}, headers=headers)).json()[
            "items"
        ]
        assert legal_file["reason"] == "large_amount" and legal_file["next_step"] == "lawyers_letter"
        path = f"/v1/legal-files/{legal_file['file_id']}/steps"
        skipped = await client.post(path, json={"kind": "filing", "on": "2026-04-26"}, headers=headers)
        assert skipped.status_code == 422 and "next step" in skipped.json()["detail"]
        future = await client.post(path, json={"kind": "lawyers_letter", "on": "2026-06-01"}, headers=headers)
        assert future.status_code == 422
        done = await client.post(
            path, json={"kind": "lawyers_letter", "on": "2026-04-26", "reference": "LL-7"}, headers=headers
        )
        assert done.status_code == 201, done.text
        [step] = done.json()["steps"]
        assert step["recorded_by"] == "staff:law-1" and done.json()["next_step"] == "filing"
        assert (
            await client.post(
                path, json={"kind": "filing", "on": "2026-04-26"}, headers=auth(tokens, "supervisor")
            )
        ).status_code == 403


class TestPlacements:
    async def test_a_supervisor_recalls_a_placement_once(self, setup: Any, tokens: StaffTokens) -> None:
        engine, settings, client = setup
        await _debtor_at_m3plus(engine, settings)
        headers = auth(tokens, "supervisor", subject="sup-1")
        [placement] = (await client.get("/v1/placements", params={"active": True}, headers=headers)).json()[
            "items"
        ]
        path = f"/v1/placements/{placement['placement_id']}/recall"
        done = await client.post(path, json={"reason": "complaint"}, headers=headers)
        assert done.status_code == 200 and done.json()["recalled_by"] == "staff:sup-1"
        assert (await client.post(path, json={"reason": "complaint"}, headers=headers)).status_code == 409
        assert (await client.post(path, json={"reason": "bored"}, headers=headers)).status_code == 422
        [recalled] = await emitted(engine, "collections.case.recalled")
        assert recalled["data"]["reason"] == "complaint"
        agencies = (await client.get("/v1/agencies", headers=headers)).json()["items"]
        assert agencies[0]["active_placements"] == 0
        decisions = (await client.get("/v1/decisions", params={"customer_id": "C1"}, headers=headers)).json()
        assert {d["rule_id"] for d in decisions["items"]} >= {"agency-placement", "home-visit"}

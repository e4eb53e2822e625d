"""An agency's cases: only its own, only while placed, pulled incrementally, minimised, masked and
audited (DOMAIN.md section 7)."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select, text

from collections_common.runtime.tables import personal_data_reads
from tests.gateway_support import TODAY, Gateway, incoming

pytestmark = pytest.mark.infra


def without_request_id(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key != "request_id"}


def example_body(gw: Gateway, operation: dict[str, Any]) -> dict[str, Any] | None:
    """A valid body for an agency route's operation (by the schema it names)."""
    ref = (
        operation.get("requestBody", {})
        .get("content", {})
        .get("application/json", {})
        .get("schema", {})
        .get("$ref")
    )
    if ref is None:
        return None
    name = ref.rsplit("/", 1)[1]
    return {
        "PermitCreate": {"channel": "call", "contact_point": "+8613800000001"},
        "ActivityCreate": {
            "kind": "promise",
            "at": "2026-01-01T10:00:00+08:00",
            "promise": {"promised_date": TODAY.isoformat(), "amount_minor": 100, "currency": "CNY"},
        },
        "ReturnCreate": {"reason": "cannot reach"},
    }[name]


class TestObjectLevelAuthorisation:
    async def test_every_case_route_answers_the_same_404_for_anothers_unknown_and_recalled_cases(
        self, gw: Gateway
    ) -> None:
        a = await gw.agency("AG-A")
        await gw.agency("AG-B")
        await gw.place("K-B", "AG-B")
        recalled = await gw.place("K-R", "AG-A")
        await gw.recall(recalled)
        document = gw.app.openapi()
        walked = 0
        for path, operations in document["paths"].items():
            if "{case_id}" not in path:
                continue
            for method, operation in operations.items():
                bodies = []
                for case_id in ("K-B", "K-UNKNOWN", "K-R"):
                    response = await gw.http.request(
                        method.upper(),
                        path.replace("{case_id}", case_id),
                        json=example_body(gw, operation),
                        headers={**a, **gw.key()},
                    )
                    assert response.status_code == 404, (method, path, case_id, response.text)
                    bodies.append(without_request_id(response.json()))
                assert bodies[0] == bodies[1] == bodies[2]
                walked += 1
        assert walked == 4  # GET case, permits, activities, return
        assert gw.contact.requests == []  # placement is checked before the contact service is asked

    async def test_a_recall_takes_access_away_as_soon_as_it_is_consumed(self, gw: Gateway) -> None:
        a = await gw.agency("AG-A")
        placed = await gw.place("K-1", "AG-A")
        assert (await gw.http.get("/v1/cases/K-1", headers=a)).status_code == 200
        await gw.recall(placed)
        assert (await gw.http.get("/v1/cases/K-1", headers=a)).status_code == 404
        assert (await gw.http.get("/v1/cases", headers=a)).json()["items"] == []

    async def test_a_case_placed_with_an_agency_past_its_review_is_handed_back(self, gw: Gateway) -> None:
        a = await gw.agency("AG-A", review_due=(TODAY - timedelta(days=1)).isoformat())
        await gw.place("K-1", "AG-A")
        assert (await gw.http.get("/v1/cases/K-1", headers=a)).status_code == 404
        [returned] = await gw.published("collections.agency.case.returned")
        assert returned["data"]["placement_id"] == "PL-K-1-AG-A"
        assert "review" in returned["data"]["reason"]

    async def test_a_case_placed_elsewhere_leaves_the_first_agency(self, gw: Gateway) -> None:
        a = await gw.agency("AG-A")
        b = await gw.agency("AG-B")
        await gw.place("K-1", "AG-A")
        await gw.place("K-1", "AG-B")
        assert (await gw.http.get("/v1/cases/K-1", headers=a)).status_code == 404
        assert (await gw.http.get("/v1/cases/K-1", headers=b)).status_code == 200


class TestCaseContents:
    async def test_a_case_shows_what_the_agency_needs_with_the_national_id_masked(self, gw: Gateway) -> None:
        a = await gw.agency("AG-A")
        await gw.place("K-1", "AG-A")
        response = await gw.http.get("/v1/cases/K-1", headers=a)
        case = response.json()
        assert case["debtor"]["name"] == "Zhang Wei"
        assert case["debtor"]["national_id_masked"] == "****451X"
        assert case["debtor"]["contact_points"][0] == {"kind": "phone", "value": "+8613800000001"}
        assert (case["stage"], case["dpd"], case["past_due_minor"], case["region"]) == (
            "M3",
            75,
            120_000,
            "CN-31",
        )
        assert "customer_id" not in response.text  # the bank's own keys stay inside
        assert not re.search(r"[0-9]{17}[0-9X]", response.text)

    async def test_every_read_of_personal_data_is_audited_and_the_auditor_can_query_it(
        self, gw: Gateway
    ) -> None:
        a = await gw.agency("AG-A")
        await gw.place("K-1", "AG-A")
        await gw.place("K-2", "AG-A")
        before = REGISTRY.get_sample_value("collections_gateway_audit_records_total") or 0.0
        await gw.http.get("/v1/cases", headers=a)
        await gw.http.get("/v1/cases/K-1", headers={**a, "X-Request-ID": "req-77"})
        assert (REGISTRY.get_sample_value("collections_gateway_audit_records_total") or 0.0) - before == 3
        async with gw.engine.connect() as connection:
            rows = list(
                await connection.execute(select(personal_data_reads).order_by(personal_data_reads.c.id))
            )
        assert [(row.subject_id, row.fields) for row in rows] == [
            ("K-1", ["name"]),
            ("K-2", ["name"]),
            ("K-1", ["contact_points", "name", "national_id"]),
        ]
        assert {(row.actor_kind, row.agency_id) for row in rows} == {("agency_client", "AG-A")}
        audit = await gw.http.get("/admin/v1/audit", params={"case_id": "K-1"}, headers=gw.staff("auditor"))
        assert audit.status_code == 200
        items = audit.json()["items"]
        assert [item["route"] for item in items] == ["GET /v1/cases", "GET /v1/cases/{case_id}"]
        assert items[1]["request_id"] == "req-77"
        assert (await gw.http.get("/admin/v1/audit", headers=gw.staff("agency_admin"))).status_code == 403

    async def test_current_figures_from_delinquency_reach_the_case(self, gw: Gateway) -> None:
        a = await gw.agency("AG-A")
        await gw.place("K-1", "AG-A")
        changed = {
            "account_id": "A-K-1",
            "customer_id": "C-K-1",
            "from_stage": "M3",
            "to_stage": "M4",
            "dpd": 95,
            "past_due_minor": 150_000,
            "oldest_unpaid_due_date": "2026-01-01",
            "as_of": TODAY.isoformat(),
            "cause": "day_close",
            "cause_event_id": "e-1",
            "currency": "CNY",
        }
        await gw.apply(incoming("collections.stage.changed", "collections.delinquency.v1", changed))
        case = (await gw.http.get("/v1/cases/K-1", headers=a)).json()
        assert (case["stage"], case["dpd"], case["past_due_minor"]) == ("M4", 95, 150_000)


async def audited(gw: Gateway, case_id: str) -> int:
    async with gw.engine.connect() as connection:
        query = select(personal_data_reads.c.id).where(personal_data_reads.c.subject_id == case_id)
        return len(list(await connection.execute(query)))


class TestReadingOneCase:
    """A case is read, authorised and audited in one statement once its token has been seen."""

    async def test_a_rotated_or_revoked_client_reads_nothing_more_with_a_token_it_has_used(
        self, gw: Gateway
    ) -> None:
        await gw.register("AG-A")
        await gw.place("K-1", "AG-A")
        for action in ("rotate", "revoke"):
            client_id, secret = await gw.issue_client("AG-A")
            headers = {"Authorization": f"Bearer {await gw.token(client_id, secret)}"}
            for _ in range(2):
                assert (await gw.http.get("/v1/cases/K-1", headers=headers)).status_code == 200
            admin = f"/admin/v1/agencies/AG-A/clients/{client_id}"
            if action == "rotate":
                changed = await gw.http.post(f"{admin}/rotate", headers=gw.staff("agency_admin"))
            else:
                changed = await gw.http.delete(admin, headers=gw.staff("agency_admin"))
            assert changed.status_code in (200, 204)
            refused = await gw.http.get("/v1/cases/K-1", headers=headers)
            assert refused.status_code == 401, action
        assert await audited(gw, "K-1") == 4  # the answered reads, each once

    async def test_reads_that_find_no_case_of_the_agency_are_not_audited(self, gw: Gateway) -> None:
        a = await gw.agency("AG-A")
        await gw.agency("AG-B")
        await gw.place("K-B", "AG-B")
        await gw.place("K-A", "AG-A")
        for case_id in ("K-B", "K-B", "K-UNKNOWN"):
            assert (await gw.http.get(f"/v1/cases/{case_id}", headers=a)).status_code == 404
        assert (await gw.http.get("/v1/cases/K-A", headers=a)).status_code == 200
        assert (await audited(gw, "K-B"), await audited(gw, "K-UNKNOWN"), await audited(gw, "K-A")) == (
            0,
            0,
            1,
        )

    async def test_a_read_on_a_connection_the_database_dropped_is_run_again_on_a_new_one(
        self, gw: Gateway
    ) -> None:
        a = await gw.agency("AG-A")
        await gw.place("K-1", "AG-A")
        assert (await gw.http.get("/v1/cases/K-1", headers=a)).status_code == 200
        async with gw.engine.connect() as connection:
            dropped = await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    " AND application_name = 'agency-gateway'"
                )
            )
            assert len(list(dropped)) >= 1
        assert (await gw.http.get("/v1/cases/K-1", headers=a)).status_code == 200
        assert await audited(gw, "K-1") == 2

    async def test_a_malformed_case_id_is_422_for_a_valid_token_and_401_for_a_refused_one(
        self, gw: Gateway
    ) -> None:
        a = await gw.agency("AG-A")
        long_id = "K" * 65
        assert (await gw.http.get(f"/v1/cases/{long_id}", headers=a)).status_code == 422
        refused = {"Authorization": "Bearer agt_" + "x" * 43}
        assert (await gw.http.get(f"/v1/cases/{long_id}", headers=refused)).status_code == 401


class TestIncrementalPull:
    async def test_a_pull_gives_what_is_new_or_changed_since_the_cursor(self, gw: Gateway) -> None:
        a = await gw.agency("AG-A")
        for case_id in ("K-1", "K-2", "K-3"):
            await gw.place(case_id, "AG-A")
        first = (await gw.http.get("/v1/cases", params={"limit": 2}, headers=a)).json()
        assert [item["case_id"] for item in first["items"]] == ["K-1", "K-2"]
        assert first["has_more"] is True
        second = (await gw.http.get("/v1/cases", params={"cursor": first["next_cursor"]}, headers=a)).json()
        assert [item["case_id"] for item in second["items"]] == ["K-3"]
        empty = (await gw.http.get("/v1/cases", params={"cursor": second["next_cursor"]}, headers=a)).json()
        assert empty["items"] == [] and empty["next_cursor"] == second["next_cursor"]
        await gw.place("K-4", "AG-A")
        changed = {
            "account_id": "A-K-1",
            "customer_id": "C-K-1",
            "from_stage": "M3",
            "to_stage": "M4",
            "dpd": 95,
            "past_due_minor": 1,
            "oldest_unpaid_due_date": "2026-01-01",
            "as_of": TODAY.isoformat(),
            "cause": "day_close",
            "cause_event_id": "e-1",
            "currency": "CNY",
        }
        await gw.apply(incoming("collections.stage.changed", "collections.delinquency.v1", changed))
        later = (await gw.http.get("/v1/cases", params={"cursor": second["next_cursor"]}, headers=a)).json()
        assert [item["case_id"] for item in later["items"]] == ["K-4", "K-1"]

    async def test_concurrent_changes_are_neither_skipped_nor_repeated(self, gw: Gateway) -> None:
        a = await gw.agency("AG-A")
        seen: list[str] = []
        cursor = ""

        async def pull() -> None:
            nonlocal cursor
            page = (await gw.http.get("/v1/cases", params={"cursor": cursor, "limit": 7}, headers=a)).json()
            seen.extend(item["case_id"] for item in page["items"])
            cursor = page["next_cursor"]

        async def place_all() -> None:
            for start in range(0, 60, 6):
                await asyncio.gather(*(gw.place(f"K-{n}", "AG-A") for n in range(start, start + 6)))

        placing = asyncio.create_task(place_all())
        while not placing.done():
            await pull()
        await placing
        await pull()
        await pull()
        assert sorted(seen) == sorted(f"K-{n}" for n in range(60))

    async def test_a_cursor_not_issued_by_the_gateway_is_a_400(self, gw: Gateway) -> None:
        a = await gw.agency("AG-A")
        response = await gw.http.get("/v1/cases", params={"cursor": "not-a-cursor"}, headers=a)
        assert response.status_code == 400

"""What an agency does on its cases: contact permits through the contact service (failing
closed), activity reports, returns; every write idempotent (DOMAIN.md sections 5 and 7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from agency_gateway.adapters.orm import activities
from tests.gateway_support import Gateway

pytestmark = pytest.mark.infra

CALL = {"channel": "call", "contact_point": "+8613800000001"}


def now() -> str:
    return datetime.now(UTC).isoformat()


class TestContactPermits:
    async def test_an_allowed_permit_is_asked_with_the_agency_as_the_party(self, gw: Gateway) -> None:
        a = await gw.agency("AG-A")
        await gw.place("K-1", "AG-A")
        response = await gw.http.post("/v1/cases/K-1/contact-permits", json=CALL, headers={**a, **gw.key()})
        assert response.status_code == 201
        assert response.json()["allowed"] is True
        [asked] = gw.contact.requests
        assert asked["body"]["party"] == {"kind": "agency", "id": "AG-A"}
        assert asked["body"]["account_id"] == "A-K-1"
        assert asked["authorization"] == "Bearer gateway-to-contact"

    async def test_a_refusal_is_answered_with_its_rule(self, gw: Gateway) -> None:
        a = await gw.agency("AG-A")
        await gw.place("K-1", "AG-A")
        gw.contact.mode = "refuse"
        labels = {"allowed": "false", "rule": "attempts_per_day"}
        before = REGISTRY.get_sample_value("collections_gateway_permits_total", labels) or 0.0
        response = await gw.http.post("/v1/cases/K-1/contact-permits", json=CALL, headers={**a, **gw.key()})
        assert response.status_code == 201
        assert (response.json()["allowed"], response.json()["rule"]) == (False, "attempts_per_day")
        assert (REGISTRY.get_sample_value("collections_gateway_permits_total", labels) or 0.0) - before == 1

    @pytest.mark.parametrize("mode", ["slow", "fail"])
    async def test_a_contact_service_that_does_not_answer_in_time_is_a_refusal(
        self, gw: Gateway, mode: str
    ) -> None:
        a = await gw.agency("AG-A")
        await gw.place("K-1", "AG-A")
        if mode == "slow":
            gw.contact.delay = 2.0  # the gateway waits 0.5 s
        else:
            gw.contact.mode = "fail"
        response = await gw.http.post("/v1/cases/K-1/contact-permits", json=CALL, headers={**a, **gw.key()})
        assert response.status_code == 201
        body = response.json()
        assert (body["allowed"], body["rule"]) == (False, "contact_service_unavailable")
        expected = "did not answer in time" if mode == "slow" else "could not decide"
        assert expected in body["reason"]

    async def test_a_contact_service_that_is_down_is_a_refusal(self, gw: Gateway) -> None:
        a = await gw.agency("AG-A")
        await gw.place("K-1", "AG-A")
        gw.app.state.contact_permits._client = __import__("httpx").AsyncClient(base_url="http://127.0.0.1:9")
        response = await gw.http.post("/v1/cases/K-1/contact-permits", json=CALL, headers={**a, **gw.key()})
        assert (response.status_code, response.json()["allowed"]) == (201, False)

    async def test_a_contact_point_the_case_does_not_have_is_refused_before_asking(self, gw: Gateway) -> None:
        a = await gw.agency("AG-A")
        await gw.place("K-1", "AG-A")
        body = {"channel": "call", "contact_point": "+8613999999999"}
        response = await gw.http.post("/v1/cases/K-1/contact-permits", json=body, headers={**a, **gw.key()})
        assert response.status_code == 422
        assert "contact_point" in response.json()["detail"]
        assert gw.contact.requests == []


class TestIdempotency:
    async def test_a_repeat_answers_the_first_answer_and_asks_nothing_again(self, gw: Gateway) -> None:
        a = await gw.agency("AG-A")
        await gw.place("K-1", "AG-A")
        key = gw.key()
        first = await gw.http.post("/v1/cases/K-1/contact-permits", json=CALL, headers={**a, **key})
        gw.contact.mode = "refuse"
        again = await gw.http.post("/v1/cases/K-1/contact-permits", json=CALL, headers={**a, **key})
        assert (again.status_code, again.json()) == (first.status_code, first.json())
        assert len(gw.contact.requests) == 1

    async def test_the_same_key_with_another_body_is_a_422(self, gw: Gateway) -> None:
        a = await gw.agency("AG-A")
        await gw.place("K-1", "AG-A")
        key = gw.key()
        await gw.http.post("/v1/cases/K-1/contact-permits", json=CALL, headers={**a, **key})
        other = {"channel": "sms", "contact_point": "+8613800000001"}
        response = await gw.http.post("/v1/cases/K-1/contact-permits", json=other, headers={**a, **key})
        assert response.status_code == 422
        assert "Idempotency-Key" in response.json()["detail"]

    async def test_a_write_without_a_key_is_refused(self, gw: Gateway) -> None:
        a = await gw.agency("AG-A")
        await gw.place("K-1", "AG-A")
        response = await gw.http.post("/v1/cases/K-1/return", json={"reason": "x"}, headers=a)
        assert response.status_code == 422
        assert response.json()["errors"][0]["location"] == ["header", "Idempotency-Key"]

    async def test_a_repeated_return_answers_the_first_answer_though_the_case_is_gone(
        self, gw: Gateway
    ) -> None:
        a = await gw.agency("AG-A")
        await gw.place("K-1", "AG-A")
        key = gw.key()
        first = await gw.http.post(
            "/v1/cases/K-1/return", json={"reason": "debtor abroad"}, headers={**a, **key}
        )
        again = await gw.http.post(
            "/v1/cases/K-1/return", json={"reason": "debtor abroad"}, headers={**a, **key}
        )
        assert first.status_code == again.status_code == 200
        assert first.json() == again.json()
        assert len(await gw.published("collections.agency.case.returned")) == 1


class TestActivities:
    async def test_a_contact_under_its_permit_is_published_without_a_violation(self, gw: Gateway) -> None:
        a = await gw.agency("AG-A")
        await gw.place("K-1", "AG-A")
        permit = (
            await gw.http.post("/v1/cases/K-1/contact-permits", json=CALL, headers={**a, **gw.key()})
        ).json()
        report = {
            "kind": "contact",
            "at": now(),
            "channel": "call",
            "outcome": "reached",
            "permit_id": permit["permit_id"],
        }
        response = await gw.http.post("/v1/cases/K-1/activities", json=report, headers={**a, **gw.key()})
        assert response.status_code == 201
        assert response.json()["violation"] is None
        [event] = await gw.published("collections.agency.activity.reported")
        assert event["_topic"] == "collections.agency.v1"
        assert (event["data"]["agency_id"], event["data"]["outcome"]) == ("AG-A", "reached")
        assert "violation" not in event["data"]

    @pytest.mark.parametrize(
        ("permit", "violation"),
        [(None, "no_permit"), ("P-404", "unknown_permit"), ("refused", "permit_refused")],
    )
    async def test_a_contact_that_broke_a_rule_is_kept_flagged_and_counted(
        self, gw: Gateway, permit: str | None, violation: str
    ) -> None:
        a = await gw.agency("AG-A")
        await gw.place("K-1", "AG-A")
        if permit == "refused":
            gw.contact.mode = "refuse"
            asked = await gw.http.post("/v1/cases/K-1/contact-permits", json=CALL, headers={**a, **gw.key()})
            permit = asked.json()["permit_id"]
        report = {"kind": "contact", "at": now(), "channel": "call", "outcome": "no_answer"}
        if permit is not None:
            report["permit_id"] = permit
        labels = {"kind": "contact", "violation": "true"}
        before = REGISTRY.get_sample_value("collections_gateway_reports_total", labels) or 0.0
        response = await gw.http.post("/v1/cases/K-1/activities", json=report, headers={**a, **gw.key()})
        assert response.status_code == 201
        assert response.json()["violation"] == violation
        assert (REGISTRY.get_sample_value("collections_gateway_reports_total", labels) or 0.0) - before == 1
        [event] = await gw.published("collections.agency.activity.reported")
        assert event["data"]["violation"] == violation
        async with gw.engine.connect() as connection:
            flagged = (await connection.execute(select(activities.c.violation))).scalar_one()
        assert flagged == violation
        case = (await gw.http.get("/v1/cases/K-1", headers=a)).json()
        assert case["history"][0]["violation"] == violation

    @pytest.mark.parametrize(
        ("report", "message"),
        [
            ({"kind": "contact", "outcome": "reached"}, "a contact names its channel"),
            ({"kind": "contact", "channel": "call"}, "a contact names its outcome"),
            ({"kind": "promise"}, "a promise report carries the promise (date and amount)"),
            ({"kind": "visit", "channel": "call", "outcome": "reached"}, "a visit's channel is 'visit'"),
            (
                {"kind": "contact", "channel": "call", "outcome": "promise_to_pay"},
                "a contact with outcome promise_to_pay carries the promise",
            ),
        ],
    )
    async def test_a_report_that_breaks_a_rule_is_refused_with_the_rule(
        self, gw: Gateway, report: dict[str, str], message: str
    ) -> None:
        a = await gw.agency("AG-A")
        await gw.place("K-1", "AG-A")
        response = await gw.http.post(
            "/v1/cases/K-1/activities", json={"at": now(), **report}, headers={**a, **gw.key()}
        )
        assert response.status_code == 422
        assert response.json()["detail"] == message

    async def test_a_report_from_the_future_is_refused(self, gw: Gateway) -> None:
        a = await gw.agency("AG-A")
        await gw.place("K-1", "AG-A")
        later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        body = {"kind": "visit", "at": later, "outcome": "met"}
        response = await gw.http.post(
            "/v1/cases/K-1/activities", json=body | {"outcome": "reached"}, headers={**a, **gw.key()}
        )
        assert (response.status_code, response.json()["detail"]) == (422, "at must not be in the future")

    async def test_a_time_without_offset_is_refused_by_the_schema(self, gw: Gateway) -> None:
        a = await gw.agency("AG-A")
        await gw.place("K-1", "AG-A")
        body = {"kind": "visit", "at": "2026-01-01T10:00:00", "outcome": "reached"}
        response = await gw.http.post("/v1/cases/K-1/activities", json=body, headers={**a, **gw.key()})
        assert response.status_code == 422
        assert response.json()["errors"][0]["location"] == ["body", "at"]


class TestReturn:
    async def test_a_returned_case_is_published_and_gone_at_once(self, gw: Gateway) -> None:
        a = await gw.agency("AG-A")
        await gw.place("K-1", "AG-A")
        response = await gw.http.post(
            "/v1/cases/K-1/return", json={"reason": "debtor abroad"}, headers={**a, **gw.key()}
        )
        assert response.status_code == 200
        [event] = await gw.published("collections.agency.case.returned")
        assert (event["data"]["reason"], event["data"]["placement_id"]) == ("debtor abroad", "PL-K-1-AG-A")
        assert (await gw.http.get("/v1/cases/K-1", headers=a)).status_code == 404

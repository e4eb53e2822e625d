"""The OWASP API Security Top 10 (2023) risks that apply to the agency gateway.

API1 (object-level authorisation) is tested route by route in test_gateway_cases.py; the
schemathesis run is test_gateway_schemathesis.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from collections_common.runtime.tables import personal_data_reads
from devstack.stack import Stack
from tests.gateway_support import FakeContactService, Gateway, database_from, gateway

pytestmark = pytest.mark.infra

LEAKS = ("Traceback", "sqlalchemy", "asyncpg", "SELECT ", "agency_gateway", 'File "', "psycopg")


def auth_failures(agency: str, reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "collections_gateway_auth_failures_total", {"agency": agency, "reason": reason}
    )
    return value or 0.0


@pytest.fixture
async def tight(
    stack: Stack, namespace: str, tmp_path: Path, contact_service: FakeContactService, gateway_template: str
) -> AsyncIterator[Gateway]:
    """A gateway with small limits: 2 requests at once, 1 a second; 1 KiB bodies."""
    url = database_from(stack, gateway_template, f"{namespace}_tight")
    async for world in gateway(
        url,
        tmp_path,
        contact_service,
        migrate=False,
        rate_limit_per_second=1.0,
        rate_limit_burst=2,
        max_body_bytes=1024,
    ):
        yield world


class TestAPI2BrokenAuthentication:
    @pytest.mark.parametrize(
        "authorization",
        [
            None,
            "Basic abc",
            "Bearer ",
            "Bearer agt_" + "A" * 43,
            "Bearer not-a-token",
            "Bearer " + "x" * 9000,
        ],
    )
    async def test_no_or_bad_tokens_are_401_with_a_bearer_challenge(
        self, gw: Gateway, authorization: str | None
    ) -> None:
        headers = {} if authorization is None else {"Authorization": authorization}
        response = await gw.http.get("/v1/cases", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith('Bearer realm="agency-gateway"')
        assert response.headers["content-type"] == "application/problem+json"

    async def test_refusals_are_counted_by_agency_and_reason(self, gw: Gateway) -> None:
        await gw.register("AG-A")
        client_id, _ = await gw.issue_client("AG-A")
        before = auth_failures("AG-A", "bad_secret"), auth_failures("unknown", "invalid_token")
        await gw.http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": "nope"},
        )
        await gw.http.get("/v1/cases", headers={"Authorization": "Bearer nope"})
        after = auth_failures("AG-A", "bad_secret"), auth_failures("unknown", "invalid_token")
        assert (after[0] - before[0], after[1] - before[1]) == (1, 1)

    async def test_token_requests_are_rate_limited_per_client_id(self, tight: Gateway) -> None:
        tight.app.state.token_limiter.rate, tight.app.state.token_limiter.burst = 0.01, 3
        statuses = []
        for _ in range(5):
            response = await tight.http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials", "client_id": "agc_guess", "client_secret": "x"},
            )
            statuses.append(response.status_code)
        assert statuses == [401, 401, 401, 429, 429]


class TestAPI3PropertyLevelAuthorisation:
    async def test_a_body_cannot_set_properties_the_gateway_owns(self, gw: Gateway) -> None:
        a = await gw.agency("AG-A")
        await gw.place("K-1", "AG-A")
        body = {
            "kind": "visit",
            "at": datetime.now(UTC).isoformat(),
            "outcome": "reached",
            "agency_id": "AG-B",
        }
        response = await gw.http.post("/v1/cases/K-1/activities", json=body, headers={**a, **gw.key()})
        assert response.status_code == 422
        assert response.json()["errors"][0]["rule"] == "extra_forbidden"

    async def test_the_client_secret_is_never_shown_again(self, gw: Gateway) -> None:
        await gw.register("AG-A")
        _, secret = await gw.issue_client("AG-A")
        listing = await gw.http.get("/admin/v1/agencies/AG-A/clients", headers=gw.staff("agency_admin"))
        assert listing.status_code == 200
        assert secret not in listing.text and "secret" not in listing.text


class TestAPI4ResourceConsumption:
    async def test_a_client_over_its_rate_is_told_when_to_come_back(self, tight: Gateway) -> None:
        a = await tight.agency("AG-A")
        statuses = [(await tight.http.get("/v1/cases", headers=a)) for _ in range(4)]
        assert [response.status_code for response in statuses][:2] == [200, 200]
        assert statuses[-1].status_code == 429
        assert int(statuses[-1].headers["retry-after"]) >= 1

    async def test_a_case_read_over_the_rate_is_refused_and_not_audited(self, tight: Gateway) -> None:
        a = await tight.agency("AG-A")
        await tight.place("K-1", "AG-A")
        statuses = [(await tight.http.get("/v1/cases/K-1", headers=a)).status_code for _ in range(5)]
        assert statuses[:2] == [200, 200] and 429 in statuses
        async with tight.engine.connect() as connection:
            rows = await connection.execute(select(personal_data_reads.c.id))
            assert len(list(rows)) == statuses.count(200)

    async def test_reads_with_a_refused_token_do_not_use_up_the_clients_rate(self, tight: Gateway) -> None:
        await tight.register("AG-A")
        await tight.place("K-1", "AG-A")
        client_id, secret = await tight.issue_client("AG-A")
        old = {"Authorization": f"Bearer {await tight.token(client_id, secret)}"}
        assert (await tight.http.get("/v1/cases/K-1", headers=old)).status_code == 200
        rotated = await tight.http.post(
            f"/admin/v1/agencies/AG-A/clients/{client_id}/rotate", headers=tight.staff("agency_admin")
        )
        new = {"Authorization": f"Bearer {await tight.token(client_id, rotated.json()['client_secret'])}"}
        for _ in range(3):
            assert (await tight.http.get("/v1/cases/K-1", headers=old)).status_code == 401
        assert (await tight.http.get("/v1/cases/K-1", headers=new)).status_code == 200

    async def test_a_body_over_the_limit_is_413_before_anything_reads_it(self, tight: Gateway) -> None:
        a = await tight.agency("AG-A")
        response = await tight.http.post(
            "/v1/cases/K-1/return", json={"reason": "x" * 5000}, headers={**a, **tight.key()}
        )
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"

    async def test_a_streamed_body_over_the_limit_is_413(self, tight: Gateway) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(10):
                yield b"x" * 500

        response = await tight.http.post("/oauth/token", content=chunks())
        assert response.status_code == 413

    async def test_pages_are_bounded(self, gw: Gateway) -> None:
        a = await gw.agency("AG-A")
        response = await gw.http.get("/v1/cases", params={"limit": 10_000}, headers=a)
        assert response.status_code == 422


class TestAPI5FunctionLevelAuthorisation:
    async def test_agency_tokens_are_refused_on_admin_routes(self, gw: Gateway) -> None:
        a = await gw.agency("AG-A")
        for method, path in [
            ("GET", "/admin/v1/agencies"),
            ("POST", "/admin/v1/agencies/AG-A/clients"),
            ("GET", "/admin/v1/audit"),
        ]:
            response = await gw.http.request(method, path, headers=a)
            assert response.status_code == 401, (method, path)

    async def test_staff_tokens_are_refused_on_agency_routes(self, gw: Gateway) -> None:
        await gw.agency("AG-A")
        await gw.place("K-1", "AG-A")
        staff = gw.staff("agency_admin", "auditor", "collector", "supervisor")
        for path in ("/v1/cases", "/v1/cases/K-1"):
            assert (await gw.http.get(path, headers=staff)).status_code == 401

    async def test_an_auditor_cannot_manage_agencies_nor_an_agency_admin_read_the_audit(
        self, gw: Gateway
    ) -> None:
        from tests.gateway_support import agency_body

        assert (
            await gw.http.post("/admin/v1/agencies", json=agency_body("AG-X"), headers=gw.staff("auditor"))
        ).status_code == 403
        assert (await gw.http.get("/admin/v1/audit", headers=gw.staff("agency_admin"))).status_code == 403


class TestAPI8SecurityMisconfiguration:
    async def test_requests_are_counted_by_route_client_and_status(self, gw: Gateway) -> None:
        a = await gw.agency("AG-A")
        await gw.http.get("/v1/cases", headers=a)
        [client_id] = [
            sample.labels["client"]
            for metric in REGISTRY.collect()
            if metric.name == "collections_gateway_requests"
            for sample in metric.samples
            if sample.labels.get("route") == "/v1/cases"
            and sample.labels.get("client", "none").startswith("agc_")
            and sample.name.endswith("_total")
        ][-1:]
        assert client_id.startswith("agc_")

    async def test_every_answer_carries_the_security_headers(self, gw: Gateway) -> None:
        for response in (await gw.http.get("/v1/cases"), await gw.http.get("/healthz")):
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["content-security-policy"].startswith("default-src 'none'")
            assert response.headers["cache-control"] == "no-store"
            assert "strict-transport-security" in response.headers

    async def test_no_origin_is_allowed_cross_origin(self, gw: Gateway) -> None:
        preflight = await gw.http.options(
            "/v1/cases",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        simple = await gw.http.get("/v1/cases", headers={"Origin": "https://evil.example"})
        for response in (preflight, simple):
            assert "access-control-allow-origin" not in response.headers
            assert "access-control-allow-credentials" not in response.headers

    @pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"])
    async def test_the_interactive_docs_and_document_are_not_served(self, gw: Gateway, path: str) -> None:
        assert (await gw.http.get(path)).status_code == 404

    async def test_errors_name_nothing_of_the_server(self, gw: Gateway) -> None:
        a = await gw.agency("AG-A")
        answers = [
            await gw.http.get(
                "/v1/cases", params={"cursor": "Yzk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OQ"}, headers=a
            ),
            await gw.http.get("/v1/cases/%00", headers=a),
            await gw.http.post(
                "/v1/cases/K-1/activities",
                content=b"{not json",
                headers={**a, **gw.key(), "Content-Type": "application/json"},
            ),
            await gw.http.post(
                "/oauth/token",
                content=b"\xff\xfe",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            ),
            await gw.http.get("/nowhere"),
            await gw.http.delete("/v1/cases"),
        ]
        for response in answers:
            assert 400 <= response.status_code < 500, response.text
            for leak in LEAKS:
                assert leak not in response.text, (leak, response.text)

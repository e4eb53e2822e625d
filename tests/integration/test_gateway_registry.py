"""The agency registry, API clients and tokens (DOMAIN.md section 7; RFC 6749 section 4.4)."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from sqlalchemy import select

from agency_gateway.adapters.orm import api_clients
from tests.gateway_support import TODAY, Gateway

pytestmark = pytest.mark.infra

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode(), **FORM}


class TestRegistry:
    async def test_a_registered_agency_is_published_with_its_whole_record(self, gw: Gateway) -> None:
        body = await gw.register("AG-1", regions=["CN-31", "CN-32"], capacity=500)
        assert body["may_take_new_work"] is True
        [event] = await gw.published("collections.agency.registered")
        assert event["_topic"] == "collections.agency.v1"
        assert event["data"]["agency_id"] == "AG-1"
        assert event["data"]["regions"] == ["CN-31", "CN-32"]
        assert event["data"]["capacity"] == 500

    async def test_a_review_moves_the_review_date_and_is_published_as_an_update(self, gw: Gateway) -> None:
        await gw.register("AG-1")
        later = (TODAY + timedelta(days=565)).isoformat()
        response = await gw.http.post(
            "/admin/v1/agencies/AG-1/review",
            json={"review_due": later, "capacity": 10},
            headers=gw.staff("agency_admin"),
        )
        assert response.status_code == 200
        [event] = await gw.published("collections.agency.updated")
        assert (event["data"]["review_due"], event["data"]["capacity"]) == (later, 10)

    async def test_a_review_date_that_does_not_move_forward_is_refused(self, gw: Gateway) -> None:
        await gw.register("AG-1")
        response = await gw.http.post(
            "/admin/v1/agencies/AG-1/review",
            json={"review_due": TODAY.isoformat()},
            headers=gw.staff("agency_admin"),
        )
        assert response.status_code == 422
        assert "review_due" in response.json()["detail"]

    async def test_registering_a_taken_id_is_a_conflict(self, gw: Gateway) -> None:
        await gw.register("AG-1")
        response = await gw.http.post(
            "/admin/v1/agencies",
            json={
                "agency_id": "AG-1",
                "name": "x",
                "regions": ["a"],
                "capacity": 1,
                "contract_start": "2026-01-01",
                "contract_end": "2026-12-31",
                "review_due": "2026-06-01",
            },
            headers=gw.staff("agency_admin"),
        )
        assert response.status_code == 409

    async def test_registry_routes_admit_only_agency_admins(self, gw: Gateway) -> None:
        for roles, status in ((("collector",), 403), (("auditor",), 403), ((), 403)):
            response = await gw.http.get("/admin/v1/agencies", headers=gw.staff(*roles))
            assert response.status_code == status
        assert (await gw.http.get("/admin/v1/agencies")).status_code == 401


class TestTokens:
    async def test_client_credentials_with_basic_or_the_body_give_a_bearer_token(self, gw: Gateway) -> None:
        await gw.register("AG-1")
        client_id, secret = await gw.issue_client("AG-1")
        by_basic = await gw.http.post(
            "/oauth/token", content=b"grant_type=client_credentials", headers=basic(client_id, secret)
        )
        in_body = await gw.http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        )
        for response in (by_basic, in_body):
            assert response.status_code == 200
            assert response.json()["token_type"] == "Bearer"
            assert response.json()["expires_in"] == 900
            assert response.headers["cache-control"] == "no-store"

    async def test_the_secret_is_kept_only_as_an_argon2id_hash(self, gw: Gateway) -> None:
        await gw.register("AG-1")
        client_id, secret = await gw.issue_client("AG-1")
        async with gw.engine.connect() as connection:
            stored = (await connection.execute(select(api_clients.c.secret_hash))).scalar_one()
        assert stored.startswith("$argon2id$")
        assert secret not in stored

    @pytest.mark.parametrize(
        ("body", "error", "status"),
        [
            (b"grant_type=password", "unsupported_grant_type", 400),
            (b"", "invalid_request", 400),
            (b"grant_type=client_credentials&grant_type=client_credentials", "invalid_request", 400),
        ],
    )
    async def test_malformed_requests_get_rfc_6749_errors(
        self, gw: Gateway, body: bytes, error: str, status: int
    ) -> None:
        await gw.register("AG-1")
        client_id, secret = await gw.issue_client("AG-1")
        response = await gw.http.post("/oauth/token", content=body, headers=basic(client_id, secret))
        assert response.status_code == status
        assert response.json()["error"] == error

    async def test_a_nul_in_the_form_or_the_basic_credentials_is_invalid_request(self, gw: Gateway) -> None:
        await gw.register("AG-1")
        client_id, secret = await gw.issue_client("AG-1")
        in_form = await gw.http.post(
            "/oauth/token",
            content=f"grant_type=client_credentials&client_id={client_id}%00&client_secret={secret}".encode(),
            headers=FORM,
        )
        in_basic = await gw.http.post(
            "/oauth/token",
            content=b"grant_type=client_credentials",
            headers=basic(f"{client_id}\x00", secret),
        )
        escaped_in_basic = await gw.http.post(
            "/oauth/token", content=b"grant_type=client_credentials", headers=basic(f"{client_id}%00", secret)
        )
        for response in (in_form, in_basic, escaped_in_basic):
            assert (response.status_code, response.json()["error"]) == (400, "invalid_request")

    async def test_a_wrong_secret_or_unknown_client_is_invalid_client_with_a_challenge(
        self, gw: Gateway
    ) -> None:
        await gw.register("AG-1")
        client_id, _ = await gw.issue_client("AG-1")
        for headers in (basic(client_id, "wrong"), basic("agc_nobody", "x")):
            response = await gw.http.post(
                "/oauth/token", content=b"grant_type=client_credentials", headers=headers
            )
            assert response.status_code == 401
            assert response.json()["error"] == "invalid_client"
            assert response.headers["www-authenticate"].startswith("Basic")
        no_auth = await gw.http.post("/oauth/token", content=b"grant_type=client_credentials", headers=FORM)
        assert no_auth.status_code == 401

    async def test_rotation_stops_the_old_secret_and_its_tokens_at_once(self, gw: Gateway) -> None:
        await gw.register("AG-1")
        client_id, old_secret = await gw.issue_client("AG-1")
        old_token = await gw.token(client_id, old_secret)
        assert (
            await gw.http.get("/v1/cases", headers={"Authorization": f"Bearer {old_token}"})
        ).status_code == 200
        rotated = await gw.http.post(
            f"/admin/v1/agencies/AG-1/clients/{client_id}/rotate", headers=gw.staff("agency_admin")
        )
        assert rotated.status_code == 200
        assert rotated.json()["generation"] == 2
        assert (
            await gw.http.get("/v1/cases", headers={"Authorization": f"Bearer {old_token}"})
        ).status_code == 401
        refused = await gw.http.post(
            "/oauth/token", content=b"grant_type=client_credentials", headers=basic(client_id, old_secret)
        )
        assert refused.status_code == 401
        new_token = await gw.token(client_id, rotated.json()["client_secret"])
        assert (
            await gw.http.get("/v1/cases", headers={"Authorization": f"Bearer {new_token}"})
        ).status_code == 200

    async def test_revocation_stops_the_client_and_its_tokens_at_once(self, gw: Gateway) -> None:
        await gw.register("AG-1")
        client_id, secret = await gw.issue_client("AG-1")
        token = await gw.token(client_id, secret)
        revoked = await gw.http.delete(
            f"/admin/v1/agencies/AG-1/clients/{client_id}", headers=gw.staff("agency_admin")
        )
        assert revoked.status_code == 204
        assert (
            await gw.http.get("/v1/cases", headers={"Authorization": f"Bearer {token}"})
        ).status_code == 401
        again = await gw.http.post(
            "/oauth/token", content=b"grant_type=client_credentials", headers=basic(client_id, secret)
        )
        assert again.status_code == 401

    async def test_a_deactivated_agency_loses_access_at_once(self, gw: Gateway) -> None:
        headers = await gw.agency("AG-1")
        response = await gw.http.post(
            "/admin/v1/agencies/AG-1/deactivate",
            json={"reason": "contract ended"},
            headers=gw.staff("agency_admin"),
        )
        assert response.status_code == 200
        assert response.json()["active"] is False
        assert (await gw.http.get("/v1/cases", headers=headers)).status_code == 403
        [event] = await gw.published("collections.agency.updated")
        assert event["data"]["active"] is False

    async def test_an_expired_token_is_refused(self, gw: Gateway) -> None:
        headers = await gw.agency("AG-1")
        from sqlalchemy import update

        from agency_gateway.adapters.orm import access_tokens

        async with gw.engine.begin() as connection:
            await connection.execute(
                update(access_tokens).values(expires_at=access_tokens.c.expires_at - timedelta(hours=1))
            )
        response = await gw.http.get("/v1/cases", headers=headers)
        assert response.status_code == 401
        assert "expired" in response.json()["detail"]

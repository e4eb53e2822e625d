"""Schemathesis against the gateway's OpenAPI document, with valid tokens, over real HTTP: no 5xx,
and every answer matches the document (status, content type, schema)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from agency_gateway.bootstrap import SERVICE, create_api
from agency_gateway.settings import AgencyGatewaySettings
from devstack.stack import Stack
from tests.api_conformance import EXAMPLES, api_schema, check_answer
from tests.auth_tokens import StaffTokens
from tests.gateway_support import (
    FakeContactService,
    Gateway,
    LiveServer,
    agency_body,
    gateway_settings,
)

pytestmark = pytest.mark.infra

DOCUMENT = create_api(AgencyGatewaySettings(environment="local")).openapi()
schema = api_schema(DOCUMENT)


class Live:
    def __init__(self, url: str, agency: dict[str, str], staff: dict[str, str]) -> None:
        self.url, self.agency, self.staff = url, agency, staff


async def _place(url: str, tmp_path: Path, contact: FakeContactService) -> None:
    """Place two cases with the agency, as escalation's events would."""
    from tests.gateway_support import gateway

    async for world in gateway(url, tmp_path, contact):
        assert isinstance(world, Gateway)
        for case_id in ("K-1", "K-2"):
            await world.place(case_id, "AG-S", **({} if case_id == "K-1" else {"placement_id": "PL-2"}))


@pytest.fixture(scope="module")
def live(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory, contact_service: FakeContactService
) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("schemathesis")
    url = stack.create_database(f"gw_schemathesis_{date.today():%Y%m%d}_{id(tmp) % 100000}")
    SERVICE.migrate(AgencyGatewaySettings(database_url=url))
    idp = StaffTokens(tmp / "jwks.json")
    settings_ = gateway_settings(
        url, idp.jwks_path, contact_service.url, kafka_bootstrap_servers=stack.bootstrap_servers
    )
    staff = {"Authorization": f"Bearer {idp.token('agency_admin', 'auditor', lifetime=timedelta(hours=1))}"}
    with LiveServer(create_api(settings_)) as server, httpx.Client(base_url=server.url) as http:
        assert http.post("/admin/v1/agencies", json=agency_body("AG-S"), headers=staff).status_code == 201
        issued = http.post("/admin/v1/agencies/AG-S/clients", headers=staff).json()
        basic = base64.b64encode(f"{issued['client_id']}:{issued['client_secret']}".encode()).decode()
        token = http.post(
            "/oauth/token",
            content=b"grant_type=client_credentials",
            headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
        ).json()["access_token"]
        asyncio.run(_place(url, tmp, contact_service))
        yield Live(server.url, {"Authorization": f"Bearer {token}"}, staff)


@schema.parametrize()
@EXAMPLES
def test_the_gateway_keeps_its_document(case: Any, live: Live) -> None:
    headers = live.staff if case.path.startswith("/admin") else live.agency
    if case.path == "/oauth/token":
        headers = {}
    check_answer(case, live.url, headers)

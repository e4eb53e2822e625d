"""Schemathesis against the contact service's OpenAPI document, with a token holding every staff
role, over real HTTP: no 5xx, and every answer matches the document (status, content type, schema)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from contact_service.bootstrap import SERVICE, create_api
from contact_service.settings import ContactSettings
from devstack.stack import Stack
from tests.api_conformance import EXAMPLES, Live, api_schema, check_answer
from tests.auth_tokens import AUDIENCE, ISSUER, StaffTokens
from tests.contact_harness import apply, opened, stage_changed
from tests.gateway_support import LiveServer

pytestmark = pytest.mark.infra

DOCUMENT = create_api(ContactSettings(environment="local")).openapi()
schema = api_schema(DOCUMENT)


async def _debtors(settings: ContactSettings) -> None:
    """Two debtors with work: one in M1 (planned contacts), one in M2 (call tasks)."""
    engine = create_async_engine(settings.database_url)
    try:
        await apply(
            engine,
            settings,
            opened("A1", "C1"),
            opened("A2", "C2"),
            stage_changed("A1", "C1", "M1", time="2026-03-02T03:00:00+00:00"),
            stage_changed("A2", "C2", "M2", dpd=35, time="2026-03-02T03:00:00+00:00"),
        )
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def live(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp: Path = tmp_path_factory.mktemp("contact_schemathesis")
    url = stack.create_database(f"contact_schemathesis_{id(tmp) % 100000}")
    idp = StaffTokens(tmp / "jwks.json")
    settings_ = ContactSettings(
        environment="test",
        database_url=url,
        auth_jwks_url=str(idp.jwks_path),
        auth_issuer=ISSUER,
        auth_audience=AUDIENCE,
    )
    SERVICE.migrate(settings_)
    asyncio.run(_debtors(settings_))
    token = idp.token("collector", "supervisor", "auditor", lifetime=timedelta(hours=1))
    with LiveServer(create_api(settings_)) as server:
        yield Live(server.url, {"Authorization": f"Bearer {token}"})


@schema.parametrize()
@EXAMPLES
def test_the_contact_service_keeps_its_document(case: object, live: Live) -> None:
    check_answer(case, live.url, live.headers)

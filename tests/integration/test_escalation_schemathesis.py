"""Schemathesis against the escalation service's OpenAPI document, with a token holding every staff
role, over real HTTP: no 5xx, and every answer matches the document (status, content type, schema)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from devstack.stack import Stack
from escalation_service.bootstrap import SERVICE, create_api
from escalation_service.settings import EscalationSettings
from tests import escalation_events as ev
from tests.api_conformance import EXAMPLES, Live, api_schema, check_answer
from tests.auth_tokens import AUDIENCE, ISSUER, StaffTokens
from tests.gateway_support import LiveServer
from tests.integration.escalation_db import apply

pytestmark = pytest.mark.infra

DOCUMENT = create_api(EscalationSettings(environment="local")).openapi()
schema = api_schema(DOCUMENT)


async def _work(settings: EscalationSettings) -> None:
    """Debtors with work of every kind: letters and visits (M3), an agency and a placement (M3+)."""
    engine = create_async_engine(settings.database_url)
    try:
        await apply(
            engine,
            settings,
            [
                ev.day_closed("2026-04-25"),
                ev.agency("AG1", regions=["Shanghai"], capacity=10),
                ev.account_opened("A1", "C1"),
                ev.account_opened("A2", "C2"),
                ev.stage_changed(
                    "A1", "C1", "M2", "M3", past_due_minor=1_500_000, dpd=61, as_of="2026-03-27"
                ),
                ev.stage_changed(
                    "A1", "C1", "M3", "M3+", past_due_minor=1_500_000, dpd=91, as_of="2026-04-26"
                ),
                ev.stage_changed("A2", "C2", "M2", "M3", past_due_minor=500_000, dpd=61, as_of="2026-03-27"),
            ],
        )
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def live(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp: Path = tmp_path_factory.mktemp("escalation_schemathesis")
    url = stack.create_database(f"escalation_schemathesis_{id(tmp) % 100000}")
    idp = StaffTokens(tmp / "jwks.json")
    settings_ = EscalationSettings(
        environment="test",
        database_url=url,
        auth_jwks_url=str(idp.jwks_path),
        auth_issuer=ISSUER,
        auth_audience=AUDIENCE,
    )
    SERVICE.migrate(settings_)
    asyncio.run(_work(settings_))
    roles = ("collector", "supervisor", "legal", "field", "auditor")
    token = idp.token(*roles, lifetime=timedelta(hours=1))
    with LiveServer(create_api(settings_)) as server:
        yield Live(server.url, {"Authorization": f"Bearer {token}"})


@schema.parametrize()
@EXAMPLES
def test_the_escalation_service_keeps_its_document(case: object, live: Live) -> None:
    check_answer(case, live.url, live.headers)

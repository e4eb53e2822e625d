"""Schemathesis against the contact service's OpenAPI document, with a token holding every staff
role, over real HTTP: no 5xx, and every answer matches the document (status, content type, schema)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from contact_service.bootstrap import SERVICE, create_api
from contact_service.settings import ContactSettings
from devstack.stack import Stack
from tests.api_conformance import EXAMPLES, Live, api_schema, check_answer, staff_api
from tests.contact_harness import apply, opened, stage_changed

pytestmark = pytest.mark.infra

DOCUMENT = create_api(ContactSettings(environment="local")).openapi()
schema = api_schema(DOCUMENT)


async def _debtors(engine: AsyncEngine, settings: ContactSettings) -> None:
    """Two debtors with work: one in M1 (planned contacts), one in M2 (call tasks)."""
    await apply(
        engine,
        settings,
        opened("A1", "C1"),
        opened("A2", "C2"),
        stage_changed("A1", "C1", "M1", time="2026-03-02T03:00:00+00:00"),
        stage_changed("A2", "C2", "M2", dpd=35, time="2026-03-02T03:00:00+00:00"),
    )


@pytest.fixture(scope="module")
def live(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    roles = ("collector", "supervisor", "auditor")
    tmp = tmp_path_factory.mktemp("contact_schemathesis")
    with staff_api(stack, tmp, SERVICE, ContactSettings, create_api, _debtors, roles) as live:
        yield live


@schema.parametrize()
@EXAMPLES
def test_the_contact_service_keeps_its_document(case: object, live: Live) -> None:
    check_answer(case, live.url, live.headers)

"""Schemathesis against the escalation service's OpenAPI document, with a token holding every staff
role, over real HTTP: no 5xx, and every answer matches the document (status, content type, schema)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from devstack.stack import Stack
from escalation_service.bootstrap import SERVICE, create_api
from escalation_service.settings import EscalationSettings
from tests import escalation_events as ev
from tests.api_conformance import EXAMPLES, Live, api_schema, check_answer, staff_api
from tests.integration.escalation_db import apply

pytestmark = pytest.mark.infra

DOCUMENT = create_api(EscalationSettings(environment="local")).openapi()
schema = api_schema(DOCUMENT)


async def _work(engine: AsyncEngine, settings: EscalationSettings) -> None:
    """Debtors with work of every kind: letters and visits (M3), an agency and a placement (M3+)."""
    await apply(
        engine,
        settings,
        [
            ev.day_closed("2026-04-25"),
            ev.agency("AG1", regions=["Shanghai"], capacity=10),
            ev.account_opened("A1", "C1"),
            ev.account_opened("A2", "C2"),
            ev.stage_changed("A1", "C1", "M2", "M3", past_due_minor=1_500_000, dpd=61, as_of="2026-03-27"),
            ev.stage_changed("A1", "C1", "M3", "M3+", past_due_minor=1_500_000, dpd=91, as_of="2026-04-26"),
            ev.stage_changed("A2", "C2", "M2", "M3", past_due_minor=500_000, dpd=61, as_of="2026-03-27"),
        ],
    )


@pytest.fixture(scope="module")
def live(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    roles = ("collector", "supervisor", "legal", "field", "auditor")
    tmp = tmp_path_factory.mktemp("escalation_schemathesis")
    with staff_api(stack, tmp, SERVICE, EscalationSettings, create_api, _work, roles) as live:
        yield live


@schema.parametrize()
@EXAMPLES
def test_the_escalation_service_keeps_its_document(case: object, live: Live) -> None:
    check_answer(case, live.url, live.headers)

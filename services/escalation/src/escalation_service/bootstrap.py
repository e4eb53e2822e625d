"""Wires the escalation service: settings, database, API, consumers."""

from __future__ import annotations

from pathlib import Path

from collections_common.events import Topics
from collections_common.service import consuming_service
from escalation_service.api import routers
from escalation_service.handlers import handle_batch
from escalation_service.settings import EscalationSettings

SERVICE = consuming_service(
    name="escalation",
    settings_class=EscalationSettings,
    migrations=Path(__file__).parent / "migrations",
    title="Escalation service",
    description="Letters, visits, restructuring, legal action and agency placement.",
    routers=routers,
    topics=(
        Topics.DELINQUENCY,
        Topics.CONTACT,
    ),
    handler=handle_batch,
)

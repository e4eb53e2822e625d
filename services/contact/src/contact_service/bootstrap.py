"""Wires the contact service: settings, database, API, consumers."""

from __future__ import annotations

from pathlib import Path

from collections_common.events import Topics
from collections_common.service import consuming_service
from contact_service.api import routers
from contact_service.handlers import handle_batch
from contact_service.settings import ContactSettings

SERVICE = consuming_service(
    name="contact",
    settings_class=ContactSettings,
    migrations=Path(__file__).parent / "migrations",
    title="Contact service",
    description="Treatment plans and contacts under one compliance policy.",
    routers=routers,
    topics=(
        Topics.DELINQUENCY,
        Topics.ACCOUNTS,
    ),
    handler=handle_batch,
)

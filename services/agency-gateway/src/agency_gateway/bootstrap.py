"""Wires the agency-gateway service: settings, database, API, consumers."""

from __future__ import annotations

from pathlib import Path

from agency_gateway.api import routers
from agency_gateway.handlers import handle_batch
from agency_gateway.settings import AgencyGatewaySettings
from collections_common.events import Topics
from collections_common.service import consuming_service

SERVICE = consuming_service(
    name="agency-gateway",
    settings_class=AgencyGatewaySettings,
    migrations=Path(__file__).parent / "migrations",
    title="Agency gateway service",
    description="The internet-facing API through which collection agencies work their placed cases.",
    routers=routers,
    topics=(Topics.ESCALATION,),
    handler=handle_batch,
)

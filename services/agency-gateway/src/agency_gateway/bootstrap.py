"""Wires the agency-gateway service: settings, database, API, consumers."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from agency_gateway.api import routers
from agency_gateway.handlers import handle_batch
from agency_gateway.settings import AgencyGatewaySettings
from collections_common.database import create_engine
from collections_common.events import Topics
from collections_common.runtime import ConsumerRunner
from collections_common.service import Component, ServiceDefinition
from collections_common.web import create_app

CONSUMED_TOPICS = (Topics.ESCALATION,)


def create_api(settings: AgencyGatewaySettings) -> FastAPI:
    return create_app(
        settings,
        engine=create_engine(settings),
        title="Agency gateway service",
        description="The internet-facing API through which collection agencies work their placed cases.",
        routers=routers,
    )


def worker_components(settings: AgencyGatewaySettings, engine: AsyncEngine) -> list[Component]:
    return [ConsumerRunner(settings=settings, engine=engine, topics=CONSUMED_TOPICS, handler=handle_batch)]


SERVICE = ServiceDefinition(
    name="agency-gateway",
    settings_class=AgencyGatewaySettings,
    migrations=Path(__file__).parent / "migrations",
    create_api=create_api,
    worker_components=worker_components,
)

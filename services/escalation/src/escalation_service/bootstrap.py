"""Wires the escalation service: settings, database, API, consumers."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from collections_common.database import create_engine
from collections_common.events import Topics
from collections_common.runtime import ConsumerRunner
from collections_common.service import Component, ServiceDefinition
from collections_common.web import create_app
from escalation_service.api import routers
from escalation_service.handlers import handle_batch
from escalation_service.settings import EscalationSettings

CONSUMED_TOPICS = (
    Topics.DELINQUENCY,
    Topics.CONTACT,
)


def create_api(settings: EscalationSettings) -> FastAPI:
    return create_app(
        settings,
        engine=create_engine(settings),
        title="Escalation service",
        description="Letters, visits, restructuring, legal action and agency placement.",
        routers=routers,
    )


def worker_components(settings: EscalationSettings, engine: AsyncEngine) -> list[Component]:
    return [ConsumerRunner(settings=settings, engine=engine, topics=CONSUMED_TOPICS, handler=handle_batch)]


SERVICE = ServiceDefinition(
    name="escalation",
    settings_class=EscalationSettings,
    migrations=Path(__file__).parent / "migrations",
    create_api=create_api,
    worker_components=worker_components,
)

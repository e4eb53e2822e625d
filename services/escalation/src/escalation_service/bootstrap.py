"""Wires the escalation service: settings, database, API, consumers, letter dispatcher."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from collections_common.database import create_engine
from collections_common.events import Topics
from collections_common.problems import Conflict, Unprocessable
from collections_common.runtime import ConsumerRunner
from collections_common.service import Component, ServiceDefinition
from collections_common.web import create_app
from escalation_service.api import routers
from escalation_service.dispatcher import LetterDispatcher, PlacementGauges
from escalation_service.domain.errors import DomainRuleViolation, InvalidTransition
from escalation_service.handlers import handler_for
from escalation_service.kpi_gauges import KpiGauges
from escalation_service.settings import EscalationSettings

TOPICS = (
    Topics.AGENCY,
    Topics.ACCOUNTS,
    Topics.PAYMENTS,
    Topics.DELINQUENCY,
    Topics.CONTACT,
    Topics.CALENDAR,
)


def create_api(settings: EscalationSettings) -> FastAPI:
    app = create_app(
        settings,
        engine=create_engine(settings),
        title="Escalation service",
        description="Letters, visits, restructuring, legal action, the bureau flag and agency placement.",
        routers=routers,
        problems={InvalidTransition: Conflict, DomainRuleViolation: Unprocessable},
    )
    app.state.escalation_settings = settings
    return app


def worker_components(settings: EscalationSettings, engine: AsyncEngine) -> list[Component]:
    return [
        ConsumerRunner(settings=settings, engine=engine, topics=TOPICS, handler=handler_for(settings)),
        LetterDispatcher(settings, engine),
        PlacementGauges(settings, engine),
        KpiGauges(settings, engine),
    ]


SERVICE = ServiceDefinition(
    name="escalation",
    settings_class=EscalationSettings,
    migrations=Path(__file__).parent / "migrations",
    create_api=create_api,
    worker_components=worker_components,
)

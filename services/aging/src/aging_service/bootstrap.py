"""Wires the aging service: settings, database, API, consumers."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from aging_service.api import routers
from aging_service.barrier import CalendarReader, CloseBarrier
from aging_service.domain.errors import UnknownAccount
from aging_service.gauges import StageGauges
from aging_service.handlers import AgingHandlers
from aging_service.kpi_gauges import KpiGauges
from aging_service.settings import AgingSettings
from collections_common.database import create_engine
from collections_common.events import Topics
from collections_common.problems import NotFound
from collections_common.runtime import ConsumerRunner
from collections_common.service import Component, ServiceDefinition
from collections_common.web import create_app

ACCOUNT_TOPICS = (Topics.ACCOUNTS, Topics.BILLING, Topics.PAYMENTS)


def create_api(settings: AgingSettings) -> FastAPI:
    engine = create_engine(settings)
    app = create_app(
        settings,
        engine=engine,
        title="Aging service",
        description="Days past due and delinquency stages from core banking's billing and payment events.",
        routers=routers,
        problems={UnknownAccount: NotFound},
    )
    app.state.policy = settings.policy
    return app


def worker_components(settings: AgingSettings, engine: AsyncEngine) -> list[Component]:
    handlers = AgingHandlers(settings.policy, settings.source)
    return [
        ConsumerRunner(
            settings=settings,
            engine=engine,
            topics=ACCOUNT_TOPICS,
            handler=handlers.handle_batch,
            gate=CloseBarrier(handlers, settings),
            # Every aging fact is keyed by its own id and a repeat with the same content is a
            # no-op (rule 5 emits nothing for it): the book absorbs a resent or replayed event.
            deduplicate=False,
        ),
        CalendarReader(settings, engine, skew_ms=settings.barrier_clock_skew_ms),
        StageGauges(engine, [bucket.name for bucket in settings.policy.buckets]),
        KpiGauges(engine, settings.policy),
    ]


SERVICE = ServiceDefinition(
    name="aging",
    settings_class=AgingSettings,
    migrations=Path(__file__).parent / "migrations",
    create_api=create_api,
    worker_components=worker_components,
)

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
from collections_common.events import Topics
from collections_common.problems import NotFound
from collections_common.runtime.gc_tuning import tune_garbage_collection
from collections_common.service import Component, consuming_service

ACCOUNT_TOPICS = (Topics.ACCOUNTS, Topics.BILLING, Topics.PAYMENTS)


def keep_policy(settings: AgingSettings, app: FastAPI) -> None:
    """The API's routes read the aging policy from ``app.state`` (``api/deps.py``)."""
    app.state.policy = settings.policy


def handlers_for(settings: AgingSettings) -> AgingHandlers:
    return AgingHandlers(settings.policy, settings.source)


def more_components(settings: AgingSettings, engine: AsyncEngine) -> list[Component]:
    return [
        CalendarReader(settings, engine, skew_ms=settings.barrier_clock_skew_ms),
        StageGauges(engine, [bucket.name for bucket in settings.policy.buckets]),
        KpiGauges(engine, settings.policy),
    ]


SERVICE = consuming_service(
    name="aging",
    settings_class=AgingSettings,
    migrations=Path(__file__).parent / "migrations",
    title="Aging service",
    description="Days past due and delinquency stages from core banking's billing and payment events.",
    routers=routers,
    topics=ACCOUNT_TOPICS,
    make_handler=lambda settings: handlers_for(settings).handle_batch,
    make_gate=lambda settings: CloseBarrier(handlers_for(settings), settings),
    # Every aging fact is keyed by its own id and a repeat with the same content is a no-op
    # (rule 5 emits nothing for it): the book absorbs a resent or replayed event.
    deduplicate=False,
    problems={UnknownAccount: NotFound},
    configure_api=keep_policy,
    components=more_components,
    on_worker_start=tune_garbage_collection,
)

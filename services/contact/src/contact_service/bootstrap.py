"""Wires the contact service: settings, database, API, consumers."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from collections_common.database import create_engine
from collections_common.events import Topics
from collections_common.runtime import ConsumerRunner
from collections_common.service import Component, ServiceDefinition
from collections_common.web import create_app
from contact_service.api import routers
from contact_service.handlers import handle_batch
from contact_service.settings import ContactSettings

CONSUMED_TOPICS = (
    Topics.DELINQUENCY,
    Topics.ACCOUNTS,
)


def create_api(settings: ContactSettings) -> FastAPI:
    return create_app(
        settings,
        engine=create_engine(settings),
        title="Contact service",
        description="Treatment plans and contacts under one compliance policy.",
        routers=routers,
    )


def worker_components(settings: ContactSettings, engine: AsyncEngine) -> list[Component]:
    return [ConsumerRunner(settings=settings, engine=engine, topics=CONSUMED_TOPICS, handler=handle_batch)]


SERVICE = ServiceDefinition(
    name="contact",
    settings_class=ContactSettings,
    migrations=Path(__file__).parent / "migrations",
    create_api=create_api,
    worker_components=worker_components,
)

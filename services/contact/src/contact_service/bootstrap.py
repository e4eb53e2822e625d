"""Wires the contact service: settings, plan, database, API, consumers and the sender."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from collections_common.database import GENERIC_PLANS, create_engine
from collections_common.events import Topics
from collections_common.problems import Conflict, NotFound, Unprocessable
from collections_common.runtime import ConsumerRunner
from collections_common.runtime.gc_tuning import tune_garbage_collection
from collections_common.service import Component, ServiceDefinition
from collections_common.web import create_app
from contact_service.api import routers
from contact_service.api.deps import ContactConfig
from contact_service.domain.errors import InvalidHold, InvalidOutcome, OutcomeConflict, UnknownThing
from contact_service.expiry import PermitExpiry
from contact_service.handlers import handler_for
from contact_service.kpi_gauges import KpiGauges
from contact_service.permits import Reservations
from contact_service.plans import Renderer, load_plan
from contact_service.promise_judge import PromiseJudge
from contact_service.sender import ContactSender
from contact_service.settings import ContactSettings
from contact_service.waiting_gauge import WaitingGauge

STAGE_CHANGES = (Topics.DELINQUENCY,)
"""Consumed by a consumer of their own, so a cure never waits behind a batch of payments."""
OTHER_INPUTS = (
    Topics.ACCOUNTS,
    Topics.PAYMENTS,
    Topics.CALENDAR,
    Topics.ESCALATION,
    Topics.AGENCY,
)

PRE_PING_AFTER_IDLE_SECONDS = 5.0
"""The API checks a pooled connection only after it sat idle this long (``create_engine``)."""


def create_api(settings: ContactSettings) -> FastAPI:
    plan = load_plan(settings.plan_file)
    # Permit decisions are the hot path: a pool of their own, without overflow connections (opening
    # one costs more than waiting for a pooled one), and their statements (an account's debtor, the
    # debtor's lock and inputs, the decision's insert) all look rows up by key: GENERIC_PLANS.
    reservations = Reservations(
        create_engine(
            settings,
            pre_ping_after_idle=PRE_PING_AFTER_IDLE_SECONDS,
            max_overflow=0,
            server_settings=GENERIC_PLANS,
        ),
        pack=settings.pack,
        source=settings.source,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await reservations.aclose()

    app = create_app(
        settings,
        engine=create_engine(settings, pre_ping_after_idle=PRE_PING_AFTER_IDLE_SECONDS),
        lifespan=lifespan,
        title="Contact service",
        description="Treatment plans and contacts under one compliance policy.",
        routers=routers,
        problems={
            UnknownThing: NotFound,
            OutcomeConflict: Conflict,
            InvalidOutcome: Unprocessable,
            InvalidHold: Unprocessable,
        },
    )
    app.state.contact = ContactConfig(
        settings=settings,
        pack=settings.pack,
        plan=plan,
        renderer=Renderer(plan),
        reservations=reservations,
    )
    return app


def worker_components(settings: ContactSettings, engine: AsyncEngine) -> list[Component]:
    """Two consumers (``STAGE_CHANGES``, ``OTHER_INPUTS``) under the service's one consumer name
    and group, so each applies its topics while the other is in a batch: a cure does not wait
    for a batch of payments to commit. The topics are disjoint, so the two never share a
    partition: under the one name they keep the stored positions and claimed event identities
    of the single consumer the service had before (an existing deployment neither re-reads nor
    skips an event), and in the one group a partition has one owner at a time even beside a
    worker of that earlier single consumer. Decisions about a debtor are serialised by its
    advisory lock, whichever consumer makes them; each batch takes its debtors' locks up front
    in key order (``apply_stage_changes``, ``handlers.lock_debtors``), so the two consumers'
    transactions cannot deadlock."""
    plan = load_plan(settings.plan_file)
    handler = handler_for(settings, plan)
    components: list[Component] = [
        ConsumerRunner(settings=settings, engine=engine, topics=topics, handler=handler)
        for topics in (STAGE_CHANGES, OTHER_INPUTS)
    ]
    components.append(KpiGauges(settings, engine))
    components.append(WaitingGauge(engine))
    components.append(PermitExpiry(settings, engine))
    components.append(PromiseJudge(settings, engine))
    if settings.sender_enabled:
        components.append(ContactSender(settings, engine, plan))
    return components


SERVICE = ServiceDefinition(
    name="contact",
    settings_class=ContactSettings,
    migrations=Path(__file__).parent / "migrations",
    create_api=create_api,
    worker_components=worker_components,
    on_worker_start=tune_garbage_collection,
)

"""Wires the agency-gateway service: settings, database, API, consumers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.middleware import Middleware

from agency_gateway.adapters.case_reads import CaseReads
from agency_gateway.adapters.contact_permits import ContactPermits
from agency_gateway.adapters.secrets import SecretHasher
from agency_gateway.api import routers
from agency_gateway.api.guard import GatewayGuard
from agency_gateway.api.limits import RateLimiter, TokenClients
from agency_gateway.api.oauth import OAuthError, on_oauth_error
from agency_gateway.domain.errors import (
    AgencyExists,
    CaseNotFound,
    IdempotencyKeyReused,
    InvalidAgency,
    InvalidCursor,
    InvalidReport,
    UnknownAgency,
    UnknownClient,
)
from agency_gateway.handlers import handle_batch
from agency_gateway.settings import AgencyGatewaySettings
from collections_common.database import GENERIC_PLANS, create_engine
from collections_common.events import Topics
from collections_common.problems import Conflict, InvalidRequest, NotFound, Unprocessable
from collections_common.runtime import ConsumerRunner
from collections_common.service import Component, ServiceDefinition
from collections_common.web import create_app

TOPICS = (Topics.ESCALATION, Topics.DELINQUENCY)
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
# Case reads are the hot path: a pool of their own, without the pre-ping (they retry instead) and
# without overflow connections (opening one costs more than waiting for a pooled one). Their one
# statement looks everything up by key, so PostgreSQL may keep its generic plan (planning it on
# every run took half the database's time per read): GENERIC_PLANS.
PROBLEMS = {
    CaseNotFound: NotFound,
    UnknownAgency: NotFound,
    UnknownClient: NotFound,
    AgencyExists: Conflict,
    InvalidAgency: Unprocessable,
    InvalidReport: Unprocessable,
    IdempotencyKeyReused: Unprocessable,
    InvalidCursor: InvalidRequest,
}


def document_oauth_errors(app: FastAPI) -> None:
    """The token endpoint answers RFC 6749 errors (``application/json``), not problem details."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        document = build()
        responses = document["paths"]["/oauth/token"]["post"]["responses"]
        for code in ("400", "401"):
            responses[code]["content"] = {
                "application/json": {"schema": {"$ref": "#/components/schemas/OAuthErrorPublic"}}
            }
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def create_api(settings: AgencyGatewaySettings, *, engine: AsyncEngine | None = None) -> FastAPI:
    headers = {}
    if settings.contact_service_token is not None:
        headers["Authorization"] = f"Bearer {settings.contact_service_token.get_secret_value()}"
    contact = ContactPermits(
        httpx.AsyncClient(base_url=settings.contact_service_url, headers=headers),
        timeout_seconds=settings.permit_timeout_seconds,
    )

    case_reads = CaseReads(
        create_engine(settings, pre_ping=False, max_overflow=0, server_settings=GENERIC_PLANS)
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await contact.aclose()
            await case_reads.aclose()

    app = create_app(
        settings,
        engine=engine or create_engine(settings),
        title="Agency gateway",
        description="The internet-facing API through which collection agencies work their placed cases.",
        routers=routers,
        lifespan=lifespan,
        problems=PROBLEMS,
    )
    app.add_exception_handler(OAuthError, on_oauth_error)
    document_oauth_errors(app)
    if not settings.api_docs:
        app.router.routes[:] = [
            route for route in app.router.routes if getattr(route, "path", None) not in DOCS_PATHS
        ]
    # Inside the request-id middleware (index 0), outside everything else.
    app.user_middleware.insert(
        1,
        Middleware(
            GatewayGuard,
            max_body_bytes=settings.max_body_bytes,
            timeout_seconds=settings.request_timeout_seconds,
        ),
    )
    app.state.settings = settings
    app.state.secret_hasher = SecretHasher(
        time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib
    )
    app.state.contact_permits = contact
    app.state.rate_limiter = RateLimiter(rate=settings.rate_limit_per_second, burst=settings.rate_limit_burst)
    app.state.token_clients = TokenClients()
    app.state.case_reads = case_reads
    app.state.token_limiter = RateLimiter(
        rate=settings.token_requests_per_minute / 60.0, burst=settings.token_requests_per_minute
    )
    return app


def worker_components(settings: AgencyGatewaySettings, engine: AsyncEngine) -> list[Component]:
    return [ConsumerRunner(settings=settings, engine=engine, topics=TOPICS, handler=handle_batch)]


SERVICE = ServiceDefinition(
    name="agency-gateway",
    settings_class=AgencyGatewaySettings,
    migrations=Path(__file__).parent / "migrations",
    create_api=create_api,
    worker_components=worker_components,
)

"""The FastAPI application every service (and every worker) is built from.

``/healthz`` says the process is alive; ``/readyz`` says its database and the broker answer
(503 with the failing probe otherwise); ``/metrics`` is Prometheus' text format. Every request
gets a request id, and every error is answered as RFC 9457 problem details (``problems.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from collections_common.auth import install_staff_auth
from collections_common.database import session_factory
from collections_common.health import KafkaProbe, ProbeResult, probe_database
from collections_common.metrics import HTTP_REQUEST_SECONDS
from collections_common.nul import ESCAPE, nul_locations, shown_name
from collections_common.problems import ProblemError, document_problems, install_problem_handlers
from collections_common.request_ids import RequestIdMiddleware
from collections_common.settings import ServiceSettings

Probe = Callable[[], Awaitable[ProbeResult]]


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


NUL_RULE = "string_without_nul"
"""The rule a value holding a NUL character breaks."""

_NUL_MESSAGE = "Value should not contain a NUL character"


async def refuse_nul(request: Request) -> None:
    """Refuse, with a 422 naming each place, a request whose path parameters, query or JSON body
    holds a NUL character in a value or a name: no service can store NUL (PostgreSQL's text
    refuses it), and a route that reached its database with one answered 500. An app-wide
    dependency of ``create_app``: it runs before a route's own dependencies and its handler (the
    body it reads is the one FastAPI has read already). A route that parses another kind of body
    itself refuses NUL there (the agency gateway's token form)."""
    where: list[tuple[str | int, ...]] = [
        ("path", name)
        for name, value in request.path_params.items()
        if isinstance(value, str) and "\x00" in value
    ]
    where += [
        ("query", shown_name(name))
        for name, value in request.query_params.multi_items()
        if "\x00" in name or "\x00" in value
    ]
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type == "application/json":
        body = await request.body()
        if ESCAPE.encode() in body:
            with contextlib.suppress(ValueError):  # not JSON: FastAPI says so itself
                where += [("body", *location) for location in nul_locations(json.loads(body))]
    if where:
        raise RequestValidationError([{"type": NUL_RULE, "loc": loc, "msg": _NUL_MESSAGE} for loc in where])


def create_app(
    settings: ServiceSettings,
    *,
    engine: AsyncEngine,
    title: str,
    description: str = "",
    routers: Sequence[APIRouter] = (),
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    problems: Mapping[type[Exception], type[ProblemError]] | None = None,
) -> FastAPI:
    """Build a service's app: its routers plus health, readiness and metrics.

    ``problems`` maps the service's domain errors to the problem each is answered with.
    """
    kafka_probe = KafkaProbe(settings.kafka_bootstrap_servers)
    probes: list[Probe] = [lambda: probe_database(engine), kafka_probe]

    @asynccontextmanager
    async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            if lifespan is None:
                yield
            else:
                async with lifespan(app):
                    yield
        finally:
            await kafka_probe.close()
            await engine.dispose()

    app = FastAPI(
        title=title,
        description=description,
        version="0.1.0",
        lifespan=_lifespan,
        dependencies=[Depends(refuse_nul)],
    )
    app.state.sessions = session_factory(engine)  # collections_common.api's SessionDep, UnitOfWorkDep
    app.add_middleware(RequestTimer)
    for router in routers:
        app.include_router(router)
    install_staff_auth(app, settings.staff_auth)

    @app.get("/healthz", response_model=Health, tags=["operations"])
    async def healthz() -> Health:
        return Health(status="alive")

    @app.get(
        "/readyz",
        response_model=Readiness,
        tags=["operations"],
        responses={503: {"model": Readiness, "description": "a dependency does not answer"}},
    )
    async def readyz(response: Response) -> Readiness:
        results = await asyncio.gather(*(probe() for probe in probes))
        ready = all(result.ok for result in results)
        if not ready:
            response.status_code = 503
        return Readiness(
            status="ready" if ready else "not ready",
            checks={result.name: result.detail for result in results},
        )

    @app.get("/metrics", tags=["operations"], response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    install_problem_handlers(app, problems)
    document_problems(app)
    app.add_middleware(RequestIdMiddleware)
    return app


class RequestTimer:
    """ASGI middleware: observes each HTTP request in ``collections_http_request_seconds``.

    The route label is the matched route's template (``/v1/accounts/{account_id}``), or
    ``unmatched`` for a path no route serves, so the label's values stay few.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self._app(scope, receive, send_and_note)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            HTTP_REQUEST_SECONDS.labels(scope["method"], route, str(status)).observe(
                time.perf_counter() - started
            )

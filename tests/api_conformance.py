"""Schemathesis over real HTTP for the services' APIs: a generated request may get any documented
answer but a 5xx, and every answer must match the document (status, content type, schema)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from collections_common.service import ServiceDefinition
from collections_common.settings import ServiceSettings
from devstack.stack import Stack
from tests.auth_tokens import AUDIENCE, ISSUER, StaffTokens
from tests.gateway_support import LiveServer

__all__ = ["EXAMPLES", "Live", "api_schema", "check_answer", "staff_api"]

S = TypeVar("S", bound=ServiceSettings)

EXAMPLES = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
"""Per operation; derandomized so a run is repeatable."""


def api_schema(document: dict[str, Any]) -> BaseSchema:
    """The schema of an OpenAPI document, without health and metrics (tag ``operations``)."""
    return schemathesis.openapi.from_dict(document).exclude(tag="operations")


@dataclass(frozen=True)
class Live:
    """A service answering on ``url``; ``headers`` authenticate its callers."""

    url: str
    headers: dict[str, str]


def check_answer(case: Any, url: str, headers: dict[str, str]) -> None:
    """Send ``case`` to ``url`` and check its answer against the document."""
    response = case.call(base_url=url, headers=headers)
    case.validate_response(
        response, checks=[not_a_server_error, response_schema_conformance, content_type_conformance]
    )


@contextmanager
def staff_api(
    stack: Stack,
    tmp: Path,
    service: ServiceDefinition[S],
    settings_of: Callable[..., S],
    create_api: Callable[[S], Any],
    seed: Callable[[AsyncEngine, S], Awaitable[None]],
    roles: Sequence[str],
) -> Iterator[Live]:
    """A service's API over real HTTP on a database of its own, migrated and seeded by ``seed``,
    called with a staff token holding ``roles`` (keys in ``tmp``)."""
    url = stack.create_database(f"{tmp.name}_{id(tmp) % 100000}")
    idp = StaffTokens(tmp / "jwks.json")
    settings = settings_of(
        environment="test",
        database_url=url,
        auth_jwks_url=str(idp.jwks_path),
        auth_issuer=ISSUER,
        auth_audience=AUDIENCE,
    )
    service.migrate(settings)

    async def seeded() -> None:
        engine = create_async_engine(settings.database_url)
        try:
            await seed(engine, settings)
        finally:
            await engine.dispose()

    asyncio.run(seeded())
    token = idp.token(*roles, lifetime=timedelta(hours=1))
    with LiveServer(create_api(settings)) as server:
        yield Live(server.url, {"Authorization": f"Bearer {token}"})

"""Apps built by the real ``create_app`` for unit tests: no database or broker is contacted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import httpx
from fastapi import APIRouter, FastAPI
from sqlalchemy.ext.asyncio import create_async_engine

from collections_common.problems import ProblemError
from collections_common.settings import ServiceSettings
from collections_common.web import create_app


def build_app(
    routers: Sequence[APIRouter],
    *,
    settings: ServiceSettings | None = None,
    problems: Mapping[type[Exception], type[ProblemError]] | None = None,
) -> FastAPI:
    """An app with ``routers``; its engine points nowhere and is never used by these routes."""
    return create_app(
        settings or ServiceSettings(environment="test"),
        engine=create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:9/nothing"),
        title="test",
        routers=routers,
        problems=problems,
    )


def client(app: FastAPI) -> httpx.AsyncClient:
    """A client that gets the app's 500 answers instead of the exceptions behind them."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://testserver"
    )

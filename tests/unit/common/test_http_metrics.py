"""Every HTTP request a service answers is timed in ``collections_http_request_seconds``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, HTTPException
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import create_async_engine

from collections_common.settings import ServiceSettings
from collections_common.web import create_app

router = APIRouter()


@router.get("/v1/things/{thing_id}")
async def read_thing(thing_id: int) -> dict[str, int]:
    if thing_id == 0:
        raise HTTPException(status_code=404)
    return {"thing_id": thing_id}


@router.get("/v1/boom")
async def boom() -> None:
    raise RuntimeError("the handler fails")


def count(method: str, route: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "collections_http_request_seconds_count", {"method": method, "route": route, "status": status}
    )
    return value or 0.0


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    settings = ServiceSettings.model_construct(kafka_bootstrap_servers="127.0.0.1:1")
    engine = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    app = create_app(settings, engine=engine, title="timed", routers=[router])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
    await engine.dispose()


class TestHttpRequestMetric:
    async def test_a_request_is_counted_under_its_route_template_and_status(
        self, client: httpx.AsyncClient
    ) -> None:
        before_ok = count("GET", "/v1/things/{thing_id}", "200")
        before_missing = count("GET", "/v1/things/{thing_id}", "404")
        assert (await client.get("/v1/things/7")).status_code == 200
        assert (await client.get("/v1/things/8")).status_code == 200
        assert (await client.get("/v1/things/0")).status_code == 404
        assert count("GET", "/v1/things/{thing_id}", "200") == before_ok + 2
        assert count("GET", "/v1/things/{thing_id}", "404") == before_missing + 1

    async def test_a_path_no_route_serves_is_counted_as_unmatched(self, client: httpx.AsyncClient) -> None:
        before = count("GET", "unmatched", "404")
        assert (await client.get("/no/such/path/42")).status_code == 404
        assert count("GET", "unmatched", "404") == before + 1

    async def test_a_failing_handler_is_counted_as_a_server_error(self, client: httpx.AsyncClient) -> None:
        before = count("GET", "/v1/boom", "500")
        assert (await client.get("/v1/boom")).status_code == 500
        assert count("GET", "/v1/boom", "500") == before + 1

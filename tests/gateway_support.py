"""The agency gateway under test: its real app on a real PostgreSQL, a fake contact service on
loopback, staff tokens, and its event handlers fed as the runner feeds them."""

from __future__ import annotations

import asyncio
import base64
import functools
import itertools
import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from agency_gateway.bootstrap import SERVICE, create_api
from agency_gateway.handlers import handle_batch
from agency_gateway.settings import AgencyGatewaySettings
from collections_common.events import decode, validate
from collections_common.runtime import Batch, Outbox
from collections_common.runtime.deliveries import Delivery, Incoming
from collections_common.runtime.tables import outbox
from collections_common.staff_tokens import SigningKey
from devstack._process import run_to_completion
from devstack.postgres import _execute
from tests.auth_tokens import AUDIENCE, ISSUER, StaffTokens

TODAY = date.today()


class FakeContactService:
    """A permit API on loopback (DOMAIN.md section 5): allows, refuses, answers slowly or fails,
    as ``mode`` says; ``requests`` keeps what it was asked."""

    def __init__(self) -> None:
        self.mode = "allow"
        self.delay = 0.0
        self.requests: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        app = FastAPI()

        @app.post("/v1/contact-permits", status_code=201)
        async def permit(request: Request) -> Any:
            body = await request.json()
            self.requests.append({"body": body, "authorization": request.headers.get("authorization")})
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.mode == "fail":
                return httpx.Response(500)  # never reached: FastAPI answers it below
            permit_id = f"P-{next(self._ids)}"
            now = datetime.now(UTC)
            if self.mode == "allow":
                return {
                    "permit_id": permit_id,
                    "customer_id": "C-1",
                    "allowed": True,
                    "expires_at": (now + timedelta(minutes=15)).isoformat(),
                }
            return {
                "permit_id": permit_id,
                "customer_id": "C-1",
                "allowed": False,
                "rule": "attempts_per_day",
                "reason": "at most 3 contact attempts a day per debtor",
                "retry_after": (now + timedelta(hours=10)).isoformat(),
            }

        @app.middleware("http")
        async def failing(request: Request, call_next: Any) -> Any:
            if self.mode == "fail":
                from starlette.responses import PlainTextResponse

                return PlainTextResponse("boom", status_code=500)
            return await call_next(request)

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                access_log=False,
                timeout_graceful_shutdown=1,
            )
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> FakeContactService:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the fake contact service did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)

    def reset(self) -> None:
        self.mode, self.delay = "allow", 0.0
        self.requests.clear()


def fake_contact_service() -> Iterator[FakeContactService]:
    service = FakeContactService().start()
    try:
        yield service
    finally:
        service.stop()


def gateway_settings(
    database_url: str, jwks: Path, contact_url: str, **overrides: Any
) -> AgencyGatewaySettings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "auth_jwks_url": str(jwks),
        "auth_issuer": ISSUER,
        "auth_audience": AUDIENCE,
        "contact_service_url": contact_url,
        "contact_service_token": "gateway-to-contact",
        "permit_timeout_seconds": 0.5,
        "argon2_time_cost": 1,
        "argon2_memory_kib": 64,
        "rate_limit_per_second": 1000.0,
        "rate_limit_burst": 1000,
        "token_requests_per_minute": 1000,
        **overrides,
    }
    return AgencyGatewaySettings(**values)


def agency_body(agency_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "agency_id": agency_id,
        "name": f"Agency {agency_id}",
        "regions": ["CN-31"],
        "capacity": 1000,
        "contract_start": (TODAY - timedelta(days=100)).isoformat(),
        "contract_end": (TODAY + timedelta(days=265)).isoformat(),
        "review_due": (TODAY + timedelta(days=200)).isoformat(),
        **overrides,
    }


def placed_data(case_id: str, agency_id: str, **overrides: Any) -> dict[str, Any]:
    account_id = overrides.pop("account_id", f"A-{case_id}")
    return {
        "placement_id": overrides.pop("placement_id", f"PL-{case_id}-{agency_id}"),
        "case_id": case_id,
        "account_id": account_id,
        "customer_id": f"C-{case_id}",
        "agency_id": agency_id,
        "rule": "m3_to_agency",
        "placed_on": TODAY.isoformat(),
        "ends_on": (TODAY + timedelta(days=90)).isoformat(),
        "stage": "M3",
        "dpd": 75,
        "past_due_minor": 120_000,
        "currency": "CNY",
        "accounts": [
            {"account_id": account_id, "stage": "M3", "dpd": 75, "past_due_minor": 120_000, "currency": "CNY"}
        ],
        "debtor": {
            "name": "Zhang Wei",
            "national_id_last4": "451X",
            "contact_points": [
                {"kind": "phone", "value": "+8613800000001"},
                {"kind": "address", "value": "1 Bund Road, Shanghai"},
            ],
            "region": "CN-31",
            "language": "zh-CN",
        },
        **overrides,
    }


_offsets = itertools.count()


def incoming(type_: str, topic: str, data: dict[str, Any]) -> Incoming:
    body = {
        "specversion": "1.0",
        "id": f"ev-{next(_offsets)}-{time.monotonic_ns()}",
        "source": "collections/escalation",
        "type": type_,
        "data": data,
    }
    raw = json.dumps(body).encode()
    delivery = Delivery(topic=topic, partition=0, offset=next(_offsets), key=b"k", value=raw)
    return Incoming(delivery, validate(decode(raw), topic=topic))


@dataclass
class Gateway:
    """The app, a client for it, its database and the bank's identity provider."""

    app: FastAPI
    http: httpx.AsyncClient
    engine: AsyncEngine
    idp: StaffTokens
    contact: FakeContactService
    settings: AgencyGatewaySettings
    _keys: Iterator[int] = field(default_factory=itertools.count)

    def staff(self, *roles: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.idp.token(*roles)}"}

    async def register(self, agency_id: str, **overrides: Any) -> dict[str, Any]:
        response = await self.http.post(
            "/admin/v1/agencies", json=agency_body(agency_id, **overrides), headers=self.staff("agency_admin")
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def issue_client(self, agency_id: str) -> tuple[str, str]:
        response = await self.http.post(
            f"/admin/v1/agencies/{agency_id}/clients", headers=self.staff("agency_admin")
        )
        assert response.status_code == 201, response.text
        return response.json()["client_id"], response.json()["client_secret"]

    async def token(self, client_id: str, secret: str) -> str:
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        response = await self.http.post(
            "/oauth/token",
            content=b"grant_type=client_credentials",
            headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    async def agency(self, agency_id: str, **overrides: Any) -> dict[str, str]:
        """Register an agency with one client; the client's bearer headers."""
        await self.register(agency_id, **overrides)
        token = await self.token(*await self.issue_client(agency_id))
        return {"Authorization": f"Bearer {token}"}

    def key(self) -> dict[str, str]:
        return {"Idempotency-Key": f"key-{next(self._keys)}"}

    async def apply(self, *events: Incoming) -> None:
        async with AsyncSession(self.engine) as session:
            await session.begin()
            batch = Batch(session=session, outbox=Outbox(session), events=list(events))
            await handle_batch(batch)
            await batch.outbox.flush()
            await session.commit()

    async def place(self, case_id: str, agency_id: str, **overrides: Any) -> dict[str, Any]:
        data = placed_data(case_id, agency_id, **overrides)
        await self.apply(incoming("collections.case.placed", "collections.escalation.v1", data))
        return data

    async def recall(self, placed: dict[str, Any], reason: str = "cure") -> None:
        data = {
            key: placed[key] for key in ("placement_id", "case_id", "account_id", "customer_id", "agency_id")
        }
        data |= {"reason": reason, "recalled_on": TODAY.isoformat()}
        await self.apply(incoming("collections.case.recalled", "collections.escalation.v1", data))

    async def published(self, type_: str | None = None) -> list[dict[str, Any]]:
        """The events in the outbox (what the relay will publish), oldest first."""
        async with self.engine.connect() as connection:
            rows = await connection.execute(select(outbox.c.topic, outbox.c.payload).order_by(outbox.c.id))
            events = [json.loads(row.payload) | {"_topic": row.topic} for row in rows]
        return [event for event in events if type_ is None or event["type"] == type_]


@functools.cache
def _signing_key() -> SigningKey:
    """One staff-token signing key for every gateway test (generating RSA keys is slow)."""
    return SigningKey.generate()


def template_database(stack: Any) -> str:
    """A database migrated once, for :func:`database_from` to copy."""
    name = f"gateway_template_{uuid.uuid4().hex[:8]}"
    SERVICE.migrate(AgencyGatewaySettings(database_url=stack.create_database(name)))
    return name


def database_from(stack: Any, template: str, name: str) -> str:
    """A new database ``name``, a copy of ``template`` (much faster than migrating)."""
    run_to_completion(_execute(stack.admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    return str(stack.database_url(name))


async def gateway(
    database_url: str, tmp_path: Path, contact: FakeContactService, *, migrate: bool = True, **overrides: Any
) -> AsyncIterator[Gateway]:
    if migrate:
        SERVICE.migrate(AgencyGatewaySettings(database_url=database_url))
    idp = StaffTokens(tmp_path / "jwks.json", key=_signing_key())
    settings = gateway_settings(database_url, idp.jwks_path, contact.url, **overrides)
    engine = create_async_engine(database_url)
    app = create_api(settings, engine=engine)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        try:
            yield Gateway(app, http, engine, idp, contact, settings)
        finally:
            await app.state.contact_permits.aclose()
            await app.state.case_reads.aclose()
            await engine.dispose()


class LiveServer:
    """An ASGI app served by uvicorn on a loopback port, in a thread with its own event loop."""

    def __init__(self, app: Any) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                access_log=False,
                timeout_graceful_shutdown=1,
            )
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

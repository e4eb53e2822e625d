"""A contact service on its own database: apply events through its handlers, run its API process."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from collections_common.events import validate
from collections_common.events.envelope import decode
from collections_common.runtime import Batch, Outbox
from collections_common.runtime.deliveries import Delivery, Incoming
from collections_common.runtime.tables import outbox
from contact_service.adapters.promises import PromiseRepository
from contact_service.handlers import handler_for
from contact_service.plans.loader import LoadedPlan, load_plan
from contact_service.promise_judge import judge_close
from contact_service.settings import ContactSettings
from devstack._process import free_port
from devstack.stack import SERVICES, Stack
from tests.auth_tokens import AUDIENCE, ISSUER, StaffTokens
from tests.processes import ServiceProcess, wait_for_status
from tests.service_commands import SERVICE_COMMANDS

CONTACT = next(service for service in SERVICES if service.name == "contact")
COMMANDS = {argv[1]: argv for argv in SERVICE_COMMANDS["contact"]}

TOPIC_OF = {
    "corebank.account.opened": "corebank.accounts.v1",
    "corebank.account.updated": "corebank.accounts.v1",
    "corebank.payment.posted": "corebank.payments.v1",
    "corebank.payment.reversed": "corebank.payments.v1",
    "corebank.business-day.closed": "corebank.calendar.v1",
    "collections.stage.changed": "collections.delinquency.v1",
    "collections.restructuring.agreed": "collections.escalation.v1",
    "collections.agency.activity.reported": "collections.agency.v1",
}


def event(type_: str, data: dict[str, Any], *, time: str | None = None) -> dict[str, Any]:
    """A CloudEvent as its producer would publish it."""
    body: dict[str, Any] = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "collections/aging" if type_.startswith("collections.") else "corebank",
        "type": type_,
        "data": data,
    }
    if time is not None:
        body["time"] = time
    return body


def opened(
    account_id: str,
    customer_id: str,
    *,
    timezone: str = "Asia/Shanghai",
    language: str = "zh-CN",
    phones: Sequence[str] = ("+8613800000001",),
    email: str | None = "debtor@example.com",
    consents: dict[str, bool] | None = None,
    currency: str = "CNY",
) -> dict[str, Any]:
    holder: dict[str, Any] = {
        "name": "Debtor",
        "phones": list(phones),
        "timezone": timezone,
        "language": language,
    }
    if email is not None:
        holder["email"] = email
    return event(
        "corebank.account.opened",
        {
            "account_id": account_id,
            "customer_id": customer_id,
            "currency": currency,
            "credit_limit_minor": 1_000_000,
            "opened_on": "2025-01-01",
            "holder": holder,
            "consents": consents or {"sms": True, "email": True, "push": True, "autodial": True},
        },
    )


def stage_changed(
    account_id: str,
    customer_id: str,
    to_stage: str,
    *,
    from_stage: str = "CURRENT",
    dpd: int = 5,
    past_due_minor: int = 150_000,
    as_of: str = "2026-03-02",
    time: str | None = None,
) -> dict[str, Any]:
    return event(
        "collections.stage.changed",
        {
            "account_id": account_id,
            "customer_id": customer_id,
            "from_stage": from_stage,
            "to_stage": to_stage,
            "dpd": dpd if to_stage != "CURRENT" else 0,
            "past_due_minor": past_due_minor if to_stage != "CURRENT" else 0,
            "oldest_unpaid_due_date": None if to_stage == "CURRENT" else "2026-02-25",
            "as_of": as_of,
            "cause": "day_close" if to_stage != "CURRENT" else "payment",
            "cause_event_id": str(uuid.uuid4()),
            "currency": "CNY",
        },
        time=time,
    )


def incomings(*events: dict[str, Any]) -> list[Incoming]:
    """``events`` as the worker's consumers hand them over, at offsets 0, 1, ... of partition 0."""
    found = []
    for offset, body in enumerate(events):
        raw = json.dumps(body).encode()
        topic = TOPIC_OF[body["type"]]
        delivery = Delivery(topic=topic, partition=0, offset=offset, key=None, value=raw)
        found.append(Incoming(delivery, validate(decode(raw), topic=topic)))
    return found


_PLANS: dict[tuple[Path, bytes, tuple[tuple[str, bytes], ...]], LoadedPlan] = {}


def plan_of(settings: ContactSettings) -> LoadedPlan:
    """``load_plan(settings.plan_file)``, loaded once for the same plan file and templates (same
    path, same contents): loading one (its YAML parsed, every template compiled) took about 0.1 s,
    which ``handle`` otherwise pays on each call."""
    path = settings.plan_file
    templates = path.with_name("templates")
    key = (
        path,
        path.read_bytes(),
        tuple((str(f), f.read_bytes()) for f in sorted(templates.rglob("*")) if f.is_file()),
    )
    if key not in _PLANS:
        _PLANS[key] = load_plan(path)
    return _PLANS[key]


async def handle(session: AsyncSession, settings: ContactSettings, *events: dict[str, Any]) -> Batch:
    """Apply ``events`` through the worker's batch handler in ``session``'s transaction, not committed."""
    batch = Batch(session=session, outbox=Outbox(session), events=incomings(*events))
    await handler_for(settings, plan_of(settings))(batch)
    await batch.outbox.flush()
    return batch


async def apply(engine: AsyncEngine, settings: ContactSettings, *events: dict[str, Any]) -> Batch:
    """Apply ``events`` through the worker's batch handler in one transaction, committed."""
    async with AsyncSession(engine) as session:
        await session.begin()
        batch = await handle(session, settings, *events)
        await session.commit()
    return batch


@dataclass
class ContactApi:
    """The contact API process on a database of its own, trusting a test identity provider."""

    stack: Stack
    database: str
    tokens: StaffTokens
    logs: Path
    config: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: ServiceProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {
            **self.stack.service_env(CONTACT, database=self.database),
            "HTTP_PORT": str(self.port),
            "ENVIRONMENT": "test",
            "AUTH_JWKS_URL": str(self.tokens.jwks_path),
            "AUTH_ISSUER": ISSUER,
            "AUTH_AUDIENCE": AUDIENCE,
            **self.config,
        }

    def start(self) -> ContactApi:
        self.process = ServiceProcess(
            COMMANDS["api"], self.env, self.logs / f"{self.database}-api.log"
        ).start()
        wait_for_status(f"{self.url}/healthz", 200, proc=self.process)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.alive:
            self.process.stop()

    def headers(self, *roles: str, subject: str = "alice") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens.token(*roles, subject=subject)}"}


def zone_at(local_hour: int, now: datetime | None = None) -> str:
    """An IANA zone (``Etc/GMT±N``) whose local hour is ``local_hour`` now: tests that run on the
    wall clock put a debtor inside or outside the allowed hours whatever the time of day."""
    hour = (now or datetime.now(UTC)).hour
    offset = (local_hour - hour + 12) % 24 - 12
    if offset == 0:
        return "Etc/GMT"
    return f"Etc/GMT-{offset}" if offset > 0 else f"Etc/GMT+{-offset}"


def payment_posted(account_id: str, payment_id: str, amount_minor: int, value_date: str) -> dict[str, Any]:
    return event(
        "corebank.payment.posted",
        {
            "account_id": account_id,
            "payment_id": payment_id,
            "amount_minor": amount_minor,
            "currency": "CNY",
            "value_date": value_date,
        },
    )


def payment_reversed(account_id: str, payment_id: str) -> dict[str, Any]:
    return event("corebank.payment.reversed", {"account_id": account_id, "payment_id": payment_id})


def day_closed(business_date: str) -> dict[str, Any]:
    return event("corebank.business-day.closed", {"business_date": business_date})


async def judge_closes(engine: AsyncEngine, settings: ContactSettings) -> None:
    """Judge every noted close's promises, earliest first, as the PromiseJudge does once the
    payments published before each close are applied (its wait on Kafka is tested on its own)."""
    async with AsyncSession(engine) as session, session.begin():
        repo = PromiseRepository(session)
        while (close := await repo.first_unjudged_close()) is not None:
            await judge_close(session, settings, *close)


async def emitted(engine: AsyncEngine, event_type: str | None = None) -> list[dict[str, Any]]:
    """The events in the outbox (optionally of one type), oldest first, as JSON."""
    async with engine.connect() as conn:
        found = await conn.execute(outbox.select().order_by(outbox.c.id))
        events = [json.loads(row.payload) for row in found if row.event_id is not None]
    return [e for e in events if event_type is None or e["type"] == event_type]


async def rows(engine: AsyncEngine, sql: str, **params: object) -> list[tuple[object, ...]]:
    async with engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(text(sql), params)]

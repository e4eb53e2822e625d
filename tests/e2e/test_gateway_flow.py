"""The agency gateway end to end: its real worker and API processes, the real broker and
PostgreSQL, a fake contact service on loopback. Escalation's events are published as escalation
publishes them; agencies call over HTTP."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from agency_gateway.bootstrap import SERVICE
from agency_gateway.settings import AgencyGatewaySettings
from devstack._process import free_port
from devstack.stack import SERVICES, Stack
from tests.auth_tokens import AUDIENCE, ISSUER, StaffTokens
from tests.e2e.aging_harness import read_all, until
from tests.gateway_support import FakeContactService, agency_body, fake_contact_service, placed_data
from tests.processes import ServiceProcess, wait_for_status
from tests.service_commands import SERVICE_COMMANDS

pytestmark = pytest.mark.infra

GATEWAY = next(service for service in SERVICES if service.name == "agency-gateway")
COMMANDS = {argv[1]: argv for argv in SERVICE_COMMANDS["agency-gateway"]}


@pytest.fixture(scope="module")
def contact_service() -> Iterator[FakeContactService]:
    yield from fake_contact_service()


class GatewayUnderTest:
    def __init__(
        self, stack: Stack, namespace: str, prefix: str, logs: Path, contact: FakeContactService
    ) -> None:
        self.stack, self.prefix = stack, prefix
        self.database = f"{namespace}_gateway"
        self.idp = StaffTokens(logs / "jwks.json")
        self.api_port, self.worker_port = free_port(), free_port()
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.env = {
            **stack.service_env(GATEWAY, database=self.database, prefix=prefix),
            "HTTP_PORT": str(self.api_port),
            "WORKER_PORT": str(self.worker_port),
            "KAFKA_CONSUMER_GROUP": f"{namespace}-gateway",
            "ENVIRONMENT": "test",
            "AUTH_JWKS_URL": str(self.idp.jwks_path),
            "AUTH_ISSUER": ISSUER,
            "AUTH_AUDIENCE": AUDIENCE,
            "CONTACT_SERVICE_URL": contact.url,
            "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_KIB": "1024",
            "OUTBOX_POLL_INTERVAL_MS": "20",
        }
        self.logs = logs
        self.processes: list[ServiceProcess] = []

    def start(self) -> GatewayUnderTest:
        url = self.stack.create_database(self.database)
        SERVICE.migrate(AgencyGatewaySettings(database_url=url))
        worker = ServiceProcess(COMMANDS["worker"], self.env, self.logs / "worker.log").start()
        api = ServiceProcess(COMMANDS["api"], self.env, self.logs / "api.log").start()
        self.processes += [worker, api]
        wait_for_status(f"http://127.0.0.1:{self.worker_port}/readyz", 200, proc=worker)
        wait_for_status(f"{self.api}/readyz", 200, proc=api)
        return self

    def stop(self) -> None:
        for process in self.processes:
            if process.alive:
                process.stop()

    async def publish(self, type_: str, data: dict[str, Any]) -> None:
        """As escalation publishes: on collections.escalation.v1, keyed by the account."""
        event = {
            "specversion": "1.0",
            "id": f"{type_}-{data['placement_id']}",
            "source": "collections/escalation",
            "type": type_,
            "time": datetime.now(UTC).isoformat(),
            "datacontenttype": "application/json",
            "data": data,
        }
        producer = AIOKafkaProducer(bootstrap_servers=self.stack.bootstrap_servers, enable_idempotence=True)
        await producer.start()
        try:
            await producer.send_and_wait(
                self.prefix + "collections.escalation.v1",
                json.dumps(event).encode(),
                key=data["account_id"].encode(),
            )
        finally:
            await producer.stop()

    async def agency_events(self) -> list[dict[str, Any]]:
        return [
            json.loads(value)
            for _, value in await read_all(self.stack, self.prefix + "collections.agency.v1")
        ]


@pytest.fixture
def gateway(
    stack: Stack, namespace: str, topics: str, tmp_path: Path, contact_service: FakeContactService
) -> Iterator[GatewayUnderTest]:
    under_test = GatewayUnderTest(stack, namespace, topics, tmp_path, contact_service).start()
    try:
        yield under_test
    finally:
        under_test.stop()


def recall_of(placed: dict[str, Any]) -> dict[str, Any]:
    keys = ("placement_id", "case_id", "account_id", "customer_id", "agency_id")
    return {key: placed[key] for key in keys} | {"reason": "complaint", "recalled_on": placed["placed_on"]}


class TestAgencyGatewayEndToEnd:
    async def test_placed_cases_are_pulled_worked_returned_and_recalled(
        self, gateway: GatewayUnderTest
    ) -> None:
        staff = {"Authorization": f"Bearer {gateway.idp.token('agency_admin')}"}
        async with httpx.AsyncClient(base_url=gateway.api, timeout=10) as http:
            assert (
                await http.post("/admin/v1/agencies", json=agency_body("AG-E"), headers=staff)
            ).status_code == 201
            issued = (await http.post("/admin/v1/agencies/AG-E/clients", headers=staff)).json()
            basic = base64.b64encode(f"{issued['client_id']}:{issued['client_secret']}".encode()).decode()
            token = (
                await http.post(
                    "/oauth/token",
                    content=b"grant_type=client_credentials",
                    headers={
                        "Authorization": f"Basic {basic}",
                        "Content-Type": "application/x-www-form-urlencoded",
                    },
                )
            ).json()["access_token"]
            agency = {"Authorization": f"Bearer {token}"}

            first, second = placed_data("K-1", "AG-E"), placed_data("K-2", "AG-E")
            await gateway.publish("collections.case.placed", first)
            await gateway.publish("collections.case.placed", second)
            pulled: list[str] = []
            cursor = ""

            async def pulled_both() -> bool:
                nonlocal cursor
                page = (await http.get("/v1/cases", params={"cursor": cursor}, headers=agency)).json()
                pulled.extend(item["case_id"] for item in page["items"])
                cursor = page["next_cursor"]
                return len(pulled) >= 2

            await until(pulled_both, what="both placed cases in the agency's pulls", timeout=30)
            assert pulled == ["K-1", "K-2"]

            permit = await http.post(
                "/v1/cases/K-1/contact-permits",
                json={"channel": "call", "contact_point": "+8613800000001"},
                headers={**agency, "Idempotency-Key": "p-1"},
            )
            assert (permit.status_code, permit.json()["allowed"]) == (201, True)
            activity = await http.post(
                "/v1/cases/K-1/activities",
                json={
                    "kind": "contact",
                    "at": datetime.now(UTC).isoformat(),
                    "channel": "call",
                    "outcome": "reached",
                    "permit_id": permit.json()["permit_id"],
                },
                headers={**agency, "Idempotency-Key": "a-1"},
            )
            assert activity.status_code == 201
            returned = await http.post(
                "/v1/cases/K-1/return",
                json={"reason": "debtor moved abroad"},
                headers={**agency, "Idempotency-Key": "r-1"},
            )
            assert returned.status_code == 200
            assert (await http.get("/v1/cases/K-1", headers=agency)).status_code == 404

            await gateway.publish("collections.case.recalled", recall_of(second))

            async def recalled() -> bool:
                return (await http.get("/v1/cases/K-2", headers=agency)).status_code == 404

            await until(recalled, what="the recall applied", timeout=30)

            async def published() -> bool:
                types = [event["type"] for event in await gateway.agency_events()]
                return {
                    "collections.agency.registered",
                    "collections.agency.activity.reported",
                    "collections.agency.case.returned",
                } <= set(types)

            await until(published, what="registry, activity and return on collections.agency.v1", timeout=30)
            reported = [
                e
                for e in await gateway.agency_events()
                if e["type"] == "collections.agency.activity.reported"
            ]
            assert reported[0]["data"]["case_id"] == "K-1" and "violation" not in reported[0]["data"]

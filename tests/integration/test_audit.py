"""The audit of personal-data reads, in a real PostgreSQL migrated by a real service's migrations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from collections_common.audit import Actor, reads_of, record_reads
from collections_common.auth import StaffPrincipal, require_roles
from collections_common.masking import mask_national_id
from collections_common.runtime.tables import personal_data_reads
from collections_common.web import create_app
from contact_service.bootstrap import SERVICE as CONTACT
from devstack.stack import Stack
from tests.auth_tokens import StaffTokens
from tests.unit.common.web_apps import client

pytestmark = pytest.mark.infra

CUSTOMERS = {"K-1": {"name": "Zhang Wei", "national_id": "11010119900307451X"}}


@pytest.fixture
async def engine(stack: Stack, namespace: str) -> AsyncIterator[AsyncEngine]:
    url = stack.create_database(f"{namespace}_audit")
    CONTACT.migrate(CONTACT.settings_class(database_url=url))
    engine = create_async_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()


def app_reading_customers(engine: AsyncEngine, idp: StaffTokens) -> Any:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    router = APIRouter()

    @router.get("/v1/customers/{customer_id}")
    async def get_customer(
        *,
        customer_id: str,
        request: Request,
        staff: Annotated[StaffPrincipal, Depends(require_roles("collector"))],
        fail_after_audit: bool = False,
    ) -> dict[str, str]:
        async with sessions.begin() as session:
            customer = CUSTOMERS[customer_id]  # stands for the query of the route
            reads = reads_of(request, Actor.staff(staff), "customer", [customer_id], ["name", "national_id"])
            await record_reads(session, reads)
            if fail_after_audit:
                raise RuntimeError("the answer could not be built")
        return {"name": customer["name"], "national_id": mask_national_id(customer["national_id"])}

    return create_app(idp.settings(), engine=engine, title="audit test", routers=[router])


async def audit_rows(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as connection:
        return list(await connection.execute(select(personal_data_reads).order_by(personal_data_reads.c.id)))


class TestPersonalDataReads:
    async def test_a_read_is_recorded_with_who_what_whom_and_when(
        self, engine: AsyncEngine, tmp_path: Path
    ) -> None:
        idp = StaffTokens(tmp_path / "jwks.json")
        token = idp.token("collector", subject="alice")
        async with client(app_reading_customers(engine, idp)) as http:
            response = await http.get(
                "/v1/customers/K-1", headers={"Authorization": f"Bearer {token}", "X-Request-ID": "r-1"}
            )
        assert response.status_code == 200
        assert response.json()["national_id"] == "**************451X"
        [row] = await audit_rows(engine)
        actor = (row.actor_kind, row.actor_id, row.actor_roles, row.agency_id)
        assert actor == ("staff", "alice", ["collector"], None)
        assert (row.subject_kind, row.subject_id, row.fields) == ("customer", "K-1", ["name", "national_id"])
        assert (row.route, row.request_id) == ("GET /v1/customers/{customer_id}", "r-1")
        assert row.at.tzinfo is not None

    async def test_a_read_rolled_back_with_its_transaction_leaves_no_record(
        self, engine: AsyncEngine, tmp_path: Path
    ) -> None:
        idp = StaffTokens(tmp_path / "jwks.json")
        async with client(app_reading_customers(engine, idp)) as http:
            response = await http.get(
                "/v1/customers/K-1",
                params={"fail_after_audit": "true"},
                headers={"Authorization": f"Bearer {idp.token('collector')}"},
            )
        assert response.status_code == 500
        assert await audit_rows(engine) == []

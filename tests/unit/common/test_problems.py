"""Every error of every service is answered as RFC 9457 problem details, and none leaks internals."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from collections_common.problems import (
    PROBLEM_JSON,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    ProblemError,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    Unprocessable,
)
from tests.unit.common.web_apps import build_app, client

SQL_FAILURE = (
    'relation "personal_data_reads" does not exist [SQL: SELECT national_id FROM customers '
    "WHERE id = $1] host=db-prod-7.bank.internal"
)


class UnknownCustomer(Exception):
    """A domain error the service maps to 404."""


class UnknownVipCustomer(UnknownCustomer):
    """A subclass: mapped through its base class."""


class Payment(BaseModel):
    national_id: str = Field(min_length=18, max_length=18)
    amount_minor: int = Field(gt=0)


router = APIRouter()

RAISED: dict[str, ProblemError] = {
    "invalid": InvalidRequest("the cursor is not one this service issued"),
    "unauthorized": Unauthorized("no bearer token", www_authenticate='Bearer realm="collections"'),
    "forbidden": Forbidden("this route admits supervisor"),
    "not-found": NotFound("case 'C-1' is unknown"),
    "conflict": Conflict("the promise was already kept"),
    "unprocessable": Unprocessable("the promised date is in the past"),
    "too-many": TooManyRequests("slow down", retry_after_seconds=7),
    "unavailable": ServiceUnavailable("the contact service does not answer", retry_after_seconds=3),
}


@router.get("/raise/{name}")
async def raise_problem(name: str) -> None:
    raise RAISED[name]


@router.get("/domain/{vip}")
async def raise_domain(vip: bool) -> None:
    raise (UnknownVipCustomer if vip else UnknownCustomer)("customer 'K-9' is unknown")


@router.get("/http")
async def raise_http() -> None:
    raise HTTPException(409, detail="already closed", headers={"X-Extra": "1"})


@router.get("/bug")
async def bug() -> None:
    raise RuntimeError(SQL_FAILURE)


@router.post("/payments")
async def pay(payment: Payment, limit: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, int]:
    return {"limit": limit}


DEPENDENCY_RAN: list[str] = []


async def reads_the_database(customer_id: str) -> str:
    """Stands for a route's own dependency that would query with the path's value."""
    DEPENDENCY_RAN.append(customer_id)
    return customer_id


@router.get("/cases/{customer_id}")
async def read_case(
    customer_id: Annotated[str, Depends(reads_the_database)], status: str | None = None
) -> dict[str, str | None]:
    return {"customer_id": customer_id, "status": status}


class Note(BaseModel):
    text: str
    tags: list[str] = []


@router.post("/notes")
async def write_note(note: Note) -> dict[str, str]:
    return {"text": note.text}


@pytest.fixture
def app() -> Any:
    return build_app([router], problems={UnknownCustomer: NotFound})


EXPECTED = {
    "invalid": (400, "invalid-request", "Invalid request"),
    "unauthorized": (401, "unauthorized", "Authentication required"),
    "forbidden": (403, "forbidden", "Forbidden"),
    "not-found": (404, "not-found", "Not found"),
    "conflict": (409, "conflict", "Conflict"),
    "unprocessable": (422, "validation-failed", "Request validation failed"),
    "too-many": (429, "too-many-requests", "Too many requests"),
    "unavailable": (503, "service-unavailable", "Service unavailable"),
}


class TestProblemErrors:
    @pytest.mark.parametrize("name", sorted(EXPECTED))
    async def test_each_class_answers_its_status_type_title_and_detail(self, app: Any, name: str) -> None:
        async with client(app) as http:
            response = await http.get(f"/raise/{name}")
        status, slug, title = EXPECTED[name]
        assert response.status_code == status
        assert response.headers["content-type"] == PROBLEM_JSON
        body = response.json()
        assert body["type"] == f"tag:collections.invalid,2026:problems/{slug}"
        assert (body["title"], body["status"], body["detail"]) == (title, status, RAISED[name].detail)

    async def test_rate_limits_say_when_to_retry(self, app: Any) -> None:
        async with client(app) as http:
            assert (await http.get("/raise/too-many")).headers["retry-after"] == "7"
            assert (await http.get("/raise/unavailable")).headers["retry-after"] == "3"

    async def test_unauthorized_names_the_scheme(self, app: Any) -> None:
        async with client(app) as http:
            response = await http.get("/raise/unauthorized")
        assert response.headers["www-authenticate"] == 'Bearer realm="collections"'


class TestMappedDomainErrors:
    async def test_a_mapped_domain_error_answers_its_problem_with_its_message(self, app: Any) -> None:
        async with client(app) as http:
            response = await http.get("/domain/false")
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM_JSON
        assert response.json()["detail"] == "customer 'K-9' is unknown"
        assert response.json()["type"].endswith("/not-found")

    async def test_a_subclass_is_mapped_through_its_base(self, app: Any) -> None:
        async with client(app) as http:
            assert (await http.get("/domain/true")).status_code == 404


class TestRequestValidation:
    async def test_bad_input_is_a_422_naming_each_location_and_rule(self, app: Any) -> None:
        async with client(app) as http:
            response = await http.post(
                "/payments",
                params={"limit": "1000"},
                json={"national_id": "11010119900307", "amount_minor": -5},
            )
        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM_JSON
        body = response.json()
        assert (body["status"], body["title"]) == (422, "Request validation failed")
        found = {(tuple(error["location"]), error["rule"]) for error in body["errors"]}
        assert found == {
            (("query", "limit"), "less_than_equal"),
            (("body", "national_id"), "string_too_short"),
            (("body", "amount_minor"), "greater_than"),
        }

    async def test_a_nul_in_a_path_or_query_value_is_a_422_before_the_route_runs(self, app: Any) -> None:
        DEPENDENCY_RAN.clear()
        async with client(app) as http:
            response = await http.get("/cases/C%00-1", params={"status": "open\x00", "x\x00": "1"})
            fine = await http.get("/cases/C-1", params={"status": "open"})
        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM_JSON
        found = {(tuple(error["location"]), error["rule"]) for error in response.json()["errors"]}
        assert found == {
            (("path", "customer_id"), "string_without_nul"),
            (("query", "status"), "string_without_nul"),
            (("query", "(a name)"), "string_without_nul"),
        }
        assert DEPENDENCY_RAN == ["C-1"], "neither the route's dependency nor its handler ran for the NUL"
        assert fine.status_code == 200

    async def test_a_nul_in_a_json_body_is_a_422_naming_where(self, app: Any) -> None:
        async with client(app) as http:
            note = await http.post("/notes", json={"text": "a\x00b", "tags": ["x", "\x00"], "se\x00cret": 1})
            escaped = await http.post("/notes", json={"text": "back\\u0000slash"})  # six characters
        assert note.status_code == 422
        found = {(tuple(error["location"]), error["rule"]) for error in note.json()["errors"]}
        assert found == {
            (("body", "text"), "string_without_nul"),
            (("body", "tags", 1), "string_without_nul"),
            (("body", "(a name)"), "string_without_nul"),
        }
        assert "cret" not in note.text
        assert (escaped.status_code, escaped.json()) == (200, {"text": "back\\u0000slash"})

    async def test_the_values_sent_are_never_echoed(self, app: Any) -> None:
        async with client(app) as http:
            response = await http.post(
                "/payments", json={"national_id": 110101199003074518, "amount_minor": "x9"}
            )
        assert response.status_code == 422
        assert "110101199003074518" not in response.text
        assert "x9" not in response.text
        assert all(set(error) == {"location", "rule", "detail"} for error in response.json()["errors"])

    async def test_a_body_that_is_not_json_is_a_422_problem(self, app: Any) -> None:
        async with client(app) as http:
            response = await http.post(
                "/payments", content=b"{national_id: 1101", headers={"content-type": "application/json"}
            )
        assert response.status_code == 422
        assert response.json()["errors"][0]["rule"] == "json_invalid"
        assert "1101" not in response.text


class TestHttpExceptions:
    async def test_an_unknown_path_is_a_404_problem(self, app: Any) -> None:
        async with client(app) as http:
            response = await http.get("/no/such/thing")
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM_JSON
        assert response.json()["title"] == "Not Found"
        assert response.json()["type"].endswith("/not-found")

    async def test_a_wrong_method_is_a_405_problem_with_allow(self, app: Any) -> None:
        async with client(app) as http:
            response = await http.delete("/payments")
        assert response.status_code == 405
        assert response.headers["content-type"] == PROBLEM_JSON
        assert response.headers["allow"] == "POST"
        assert response.json()["type"].endswith("/method-not-allowed")

    async def test_an_http_exception_keeps_its_status_detail_and_headers(self, app: Any) -> None:
        async with client(app) as http:
            response = await http.get("/http")
        assert response.status_code == 409
        assert response.json()["detail"] == "already closed"
        assert response.headers["x-extra"] == "1"


class TestUnexpectedErrors:
    async def test_a_bug_is_a_500_that_names_nothing_of_the_server(
        self, app: Any, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.ERROR, logger="collections_common.problems"):
            async with client(app) as http:
                response = await http.get("/bug", headers={"X-Request-ID": "req-42"})
        assert response.status_code == 500
        assert response.headers["content-type"] == PROBLEM_JSON
        body = response.json()
        assert set(body) == {"type", "title", "status", "detail", "request_id"}
        assert body["request_id"] == "req-42"
        for secret in (
            "SELECT",
            "national_id",
            "db-prod-7",
            "personal_data_reads",
            "RuntimeError",
            "Traceback",
        ):
            assert secret not in response.text
        logged = [record for record in caplog.records if getattr(record, "request_id", None) == "req-42"]
        assert logged and logged[0].exc_info is not None
        assert SQL_FAILURE in str(logged[0].exc_info[1])


class TestRequestIds:
    async def test_a_sane_request_id_is_kept_and_echoed(self, app: Any) -> None:
        async with client(app) as http:
            ok = await http.get("/healthz", headers={"X-Request-ID": "abc.123"})
            problem = await http.get("/raise/conflict", headers={"X-Request-ID": "abc.124"})
        assert ok.headers["x-request-id"] == "abc.123"
        assert problem.headers["x-request-id"] == "abc.124"
        assert problem.json()["request_id"] == "abc.124"

    async def test_an_insane_request_id_is_replaced(self, app: Any) -> None:
        async with client(app) as http:
            response = await http.get("/raise/conflict", headers={"X-Request-ID": "<script>" + "x" * 80})
        assert response.headers["x-request-id"] != "<script>"
        assert len(response.headers["x-request-id"]) == 32
        assert "script" not in response.text


class TestOpenApi:
    def test_errors_are_documented_as_problem_details(self, app: Any) -> None:
        document = app.openapi()
        responses = document["paths"]["/payments"]["post"]["responses"]
        # invalid input carries its errors; a broken domain rule (Unprocessable) does not
        assert responses["422"]["content"] == {
            PROBLEM_JSON: {
                "schema": {
                    "anyOf": [
                        {"$ref": "#/components/schemas/ValidationProblem"},
                        {"$ref": "#/components/schemas/Problem"},
                    ]
                }
            }
        }
        assert "HTTPValidationError" not in document["components"]["schemas"]
        assert {"location", "rule", "detail"} <= set(
            document["components"]["schemas"]["ValidationErrorItem"]["properties"]
        )

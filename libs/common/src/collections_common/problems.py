"""RFC 9457 problem details: the one place where an error becomes an HTTP response.

```
ProblemError                  an error the client is told about (status, type, title, detail)
 ├── InvalidRequest           400
 ├── Unauthorized             401, with ``WWW-Authenticate``
 ├── Forbidden                403
 ├── NotFound                 404
 ├── Conflict                 409
 ├── Unprocessable            422
 ├── TooManyRequests          429, with ``Retry-After``
 └── ServiceUnavailable       503, with ``Retry-After`` when known
```

Routes raise these, or raise their own domain errors that the service maps to one of these
classes once (``create_app(problems={UnknownAccount: NotFound})``): the domain stays free of HTTP.
:func:`install_problem_handlers` (called by ``create_app``) turns them, FastAPI's request
validation errors and Starlette's ``HTTPException`` (404 of an unknown path, 405...) into
``application/problem+json``. Anything else is a bug: it is logged with the request id and
answered with a 500 that names nothing of the server (no message, trace, SQL or host).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from collections_common.request_ids import REQUEST_ID_HEADER, request_id_of

__all__ = [
    "PROBLEM_JSON",
    "Conflict",
    "Problem",
    "Forbidden",
    "InvalidRequest",
    "NotFound",
    "ProblemError",
    "ProblemResponse",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "Unprocessable",
    "ValidationProblem",
    "document_problems",
    "install_problem_handlers",
    "problem_type",
]

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "tag:collections.invalid,2026:problems/"
"""Problem types are ``tag:`` URIs (RFC 4151), as RFC 9457 section 4 suggests for types that
name a kind of problem without pointing at a page."""

log = logging.getLogger(__name__)


def problem_type(slug: str) -> str:
    """The ``type`` URI of the problem named ``slug``."""
    return f"{TYPE_BASE}{slug}"


class ProblemResponse(JSONResponse):
    """A JSON response with the problem details media type."""

    media_type = PROBLEM_JSON


class ProblemError(Exception):
    """An error the client is told about: a status, a type, a title and a detail."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal server error"

    def __init__(
        self,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = dict(headers or {})
        self.extensions = dict(extensions or {})

    @property
    def type(self) -> str:
        return problem_type(self.slug)


class InvalidRequest(ProblemError):
    """The request cannot be understood as it is (400)."""

    status = 400
    slug = "invalid-request"
    title = "Invalid request"


class Unauthorized(ProblemError):
    """No credentials, or credentials that do not verify (401)."""

    status = 401
    slug = "unauthorized"
    title = "Authentication required"

    def __init__(self, detail: str, *, www_authenticate: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": www_authenticate})


class Forbidden(ProblemError):
    """The caller is known but may not do this (403)."""

    status = 403
    slug = "forbidden"
    title = "Forbidden"


class NotFound(ProblemError):
    """No such resource, or none the caller may see (404)."""

    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(ProblemError):
    """The request conflicts with the resource's current state (409)."""

    status = 409
    slug = "conflict"
    title = "Conflict"


class Unprocessable(ProblemError):
    """Well-formed input that breaks a rule (422)."""

    status = 422
    slug = "validation-failed"
    title = "Request validation failed"


class TooManyRequests(ProblemError):
    """The caller is over its rate limit (429)."""

    status = 429
    slug = "too-many-requests"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after_seconds: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after_seconds))})


class ServiceUnavailable(ProblemError):
    """Something this service depends on does not answer (503)."""

    status = 503
    slug = "service-unavailable"
    title = "Service unavailable"

    def __init__(self, detail: str, *, retry_after_seconds: int | None = None) -> None:
        headers = {} if retry_after_seconds is None else {"Retry-After": str(max(1, retry_after_seconds))}
        super().__init__(detail, headers=headers)


def _response(
    request: Request,
    *,
    status: int,
    type_: str,
    title: str,
    detail: str,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> ProblemResponse:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status, "detail": detail}
    for name, value in (extensions or {}).items():
        body.setdefault(name, value)
    request_id = request_id_of(request.scope)
    all_headers = dict(headers or {})
    if request_id:
        body["request_id"] = request_id
        all_headers[REQUEST_ID_HEADER] = request_id
    return ProblemResponse(status_code=status, content=body, headers=all_headers)


def _from_problem(request: Request, problem: ProblemError) -> ProblemResponse:
    return _response(
        request,
        status=problem.status,
        type_=problem.type,
        title=problem.title,
        detail=problem.detail,
        headers=problem.headers,
        extensions=problem.extensions,
    )


def validation_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Where each error is and which rule it broke, never the value sent (it may be personal data)."""
    return [
        {
            "location": [part for part in error.get("loc", ()) if isinstance(part, str | int)],
            "rule": str(error.get("type", "")),
            "detail": str(error.get("msg", "")),
        }
        for error in errors
    ]


def _status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "HTTP error"


def install_problem_handlers(
    app: FastAPI, problems: Mapping[type[Exception], type[ProblemError]] | None = None
) -> None:
    """Answer every error of ``app`` as problem details; ``problems`` maps domain errors to statuses.

    A mapped domain error's message becomes the ``detail``: domain errors raised towards a route
    must say what the client may read.
    """

    async def on_problem(request: Request, exc: Exception) -> ProblemResponse:
        assert isinstance(exc, ProblemError)
        return _from_problem(request, exc)

    async def on_mapped(request: Request, exc: Exception) -> ProblemResponse:
        for cls in type(exc).__mro__:
            kind = (problems or {}).get(cls)
            if kind is not None:
                return _response(
                    request,
                    status=kind.status,
                    type_=problem_type(kind.slug),
                    title=kind.title,
                    detail=str(exc),
                )
        return await on_unexpected(request, exc)  # pragma: no cover - registered classes only

    async def on_validation(request: Request, exc: Exception) -> ProblemResponse:
        assert isinstance(exc, RequestValidationError)
        return _response(
            request,
            status=Unprocessable.status,
            type_=problem_type(Unprocessable.slug),
            title=Unprocessable.title,
            detail="the request has values that break the rules listed in errors",
            extensions={"errors": validation_errors(exc.errors())},
        )

    async def on_http(request: Request, exc: Exception) -> ProblemResponse:
        assert isinstance(exc, StarletteHTTPException)
        phrase = _status_phrase(exc.status_code)
        detail = exc.detail if isinstance(exc.detail, str) else phrase
        return _response(
            request,
            status=exc.status_code,
            type_=problem_type(phrase.lower().replace(" ", "-").replace("'", "")),
            title=phrase,
            detail=detail,
            headers=exc.headers,
        )

    async def on_unexpected(request: Request, exc: Exception) -> ProblemResponse:
        log.error(
            "unhandled error answering %s %s",
            request.method,
            request.url.path,
            exc_info=exc,
            extra={"request_id": request_id_of(request.scope)},
        )
        return _response(
            request,
            status=500,
            type_=problem_type(ProblemError.slug),
            title=ProblemError.title,
            detail="the server could not answer this request; quote the request id when reporting it",
        )

    app.add_exception_handler(ProblemError, on_problem)
    for cls in problems or {}:
        app.add_exception_handler(cls, on_mapped)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)


class Problem(BaseModel):
    """RFC 9457 problem details, as every error of every service is answered."""

    type: str = Field(description="a URI naming the kind of problem")
    title: str = Field(description="a short summary of the kind of problem")
    status: int = Field(description="the HTTP status code")
    detail: str = Field(description="what went wrong with this request")
    request_id: str | None = Field(default=None, description="quote it when reporting the problem")


class ValidationErrorItem(BaseModel):
    location: list[str | int] = Field(description="where the value is, e.g. ['query', 'as_of']")
    rule: str = Field(description="the rule it breaks, e.g. string_too_long")
    detail: str


class ValidationProblem(Problem):
    errors: list[ValidationErrorItem]


def _problem_schema(code: str) -> dict[str, Any]:
    """A 422 is either invalid input (with ``errors``) or a domain rule broken (without)."""
    if code == "422":
        return {
            "anyOf": [
                {"$ref": f"#/components/schemas/{ValidationProblem.__name__}"},
                {"$ref": f"#/components/schemas/{Problem.__name__}"},
            ]
        }
    return {"$ref": f"#/components/schemas/{Problem.__name__}"}


def document_problems(app: FastAPI) -> None:
    """Make ``app``'s OpenAPI document say what its errors look like (problem details)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        document = build()  # FastAPI's, cached until the routes change; the edits below are idempotent
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for model in (Problem, ValidationErrorItem, ValidationProblem):
            schemas[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                if operation.get("security"):  # a route that takes a bearer token can refuse it
                    responses = operation.setdefault("responses", {})
                    responses.setdefault("401", {"description": "No valid bearer token"})
                    responses.setdefault("403", {"description": "The token's roles do not admit this route"})
                for code, response in operation.get("responses", {}).items():
                    if code[:1] not in {"4", "5"}:
                        continue
                    response["content"] = {PROBLEM_JSON: {"schema": _problem_schema(code)}}
        return document

    app.openapi = openapi  # type: ignore[method-assign]

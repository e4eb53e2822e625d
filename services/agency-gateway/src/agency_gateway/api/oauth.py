"""``POST /oauth/token``: RFC 6749 section 4.4, the client credentials grant.

The client authenticates with HTTP Basic (section 2.3.1: ``client_id:client_secret``, each
form-urlencoded) or with ``client_id`` and ``client_secret`` in the body, never both. Errors are
RFC 6749 section 5.2 answers (``{"error": ..., "error_description": ...}``).
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from agency_gateway.adapters.registry import Agencies, Clients, Tokens
from agency_gateway.adapters.secrets import SecretHasher, new_token, token_hash
from agency_gateway.api.limits import RateLimiter
from agency_gateway.api.schemas import OAuthErrorPublic, TokenPublic
from agency_gateway.metrics import AUTH_FAILURES
from collections_common.api import UnitOfWorkDep
from collections_common.problems import Problem, TooManyRequests

router = APIRouter(tags=["oauth"])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
MAX_FIELD = 512


class OAuthError(Exception):
    """An RFC 6749 error answer."""

    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


async def on_oauth_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OAuthError)
    headers = dict(NO_STORE)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="agency-gateway"'
    return JSONResponse(
        {"error": exc.error, "error_description": exc.description}, status_code=exc.status, headers=headers
    )


def _form(request: Request, body: bytes) -> dict[str, str]:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "the body must be application/x-www-form-urlencoded")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "the body is not a valid form") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if "\x00" in name or "\x00" in value:  # no client id or secret holds one; none can be stored
            raise OAuthError("invalid_request", "a parameter holds a NUL character")
        if name in form:
            raise OAuthError("invalid_request", f"the parameter {name[:32]!r} is repeated")
        if len(value) > MAX_FIELD:
            raise OAuthError("invalid_request", "a parameter is too long")
        form[name] = value
    return form


def _basic(authorization: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(authorization, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError("invalid_request", "the Basic credentials are not valid base64") from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise OAuthError("invalid_request", "the Basic credentials lack the ':' separator")
    client_id, secret = unquote_plus(client_id), unquote_plus(secret)  # RFC 6749 2.3.1: form-encoded
    if "\x00" in client_id or "\x00" in secret:
        raise OAuthError("invalid_request", "the Basic credentials hold a NUL character")
    return client_id, secret


def _credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    scheme, _, value = (request.headers.get("authorization") or "").strip().partition(" ")
    in_body = "client_secret" in form
    if scheme:
        if scheme.lower() != "basic":
            raise OAuthError("invalid_client", "authenticate the client with HTTP Basic", status=401)
        if in_body:
            raise OAuthError("invalid_request", "use one client authentication method, not two")
        client_id, secret = _basic(value.strip())
        if "client_id" in form and form["client_id"] != client_id:
            raise OAuthError("invalid_request", "client_id differs from the authenticated client")
        return client_id, secret
    if not in_body or "client_id" not in form:
        raise OAuthError("invalid_client", "the client is not authenticated", status=401)
    return form["client_id"], form["client_secret"]


@router.post(
    "/oauth/token",
    response_model=TokenPublic,
    responses={
        400: {"model": OAuthErrorPublic, "description": "invalid_request or unsupported_grant_type"},
        401: {"model": OAuthErrorPublic, "description": "invalid_client"},
        429: {"model": Problem, "description": "too many token requests for this client id"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["grant_type"],
                        "properties": {
                            "grant_type": {"type": "string", "enum": ["client_credentials"]},
                            "client_id": {"type": "string"},
                            "client_secret": {"type": "string"},
                            "scope": {"type": "string"},
                        },
                    }
                }
            },
        }
    },
)
async def issue_token(*, request: Request, uow: UnitOfWorkDep) -> Any:
    """A bearer access token for an agency's API client (client credentials grant)."""
    form = _form(request, await request.body())
    grant_type = form.get("grant_type")
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is required")
    if grant_type != "client_credentials":
        raise OAuthError("unsupported_grant_type", "only client_credentials is supported")
    client_id, secret = _credentials(request, form)
    if not client_id or len(client_id) > 64:
        AUTH_FAILURES.labels("unknown", "unknown_client").inc()
        raise OAuthError("invalid_client", "the client is not authenticated", status=401)
    limiter: RateLimiter = request.app.state.token_limiter
    wait = limiter.allow(client_id)
    if wait:
        raise TooManyRequests("too many token requests for this client", retry_after_seconds=wait)
    hasher: SecretHasher = request.app.state.secret_hasher
    client = await Clients(uow.session).get(client_id)
    matches = await hasher.matches(None if client is None else client.secret_hash, secret)
    if client is None:
        AUTH_FAILURES.labels("unknown", "unknown_client").inc()
        raise OAuthError("invalid_client", "the client is not authenticated", status=401)
    if not matches:
        AUTH_FAILURES.labels(client.agency_id, "bad_secret").inc()
        raise OAuthError("invalid_client", "the client is not authenticated", status=401)
    if client.revoked:
        AUTH_FAILURES.labels(client.agency_id, "revoked_client").inc()
        raise OAuthError("invalid_client", "the client is not authenticated", status=401)
    agency = await Agencies(uow.session).get(client.agency_id)
    if agency is None or not agency.may_sign_in():
        AUTH_FAILURES.labels(client.agency_id, "forbidden").inc()
        raise OAuthError("invalid_client", "the client's agency is not active", status=401)
    lifetime: int = request.app.state.settings.token_lifetime_seconds
    now = datetime.now(UTC)
    token = new_token()
    tokens = Tokens(uow.session)
    await tokens.add(
        token_hash(token), client.client_id, client.generation, now + timedelta(seconds=lifetime)
    )
    await tokens.forget_expired(now - timedelta(hours=1), limit=100)
    await uow.commit()
    answer = TokenPublic(access_token=token, token_type="Bearer", expires_in=lifetime)
    return JSONResponse(answer.model_dump(), headers=NO_STORE)

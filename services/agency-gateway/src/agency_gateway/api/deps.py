"""Dependencies of the agency routes: the calling API client, its rate limit, idempotency keys."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.security import HTTPBearer
from fastapi.security.http import HTTPAuthorizationCredentials
from pydantic import BaseModel

from agency_gateway.adapters.idempotency import IdempotencyKeys, StoredAnswer
from agency_gateway.adapters.registry import TokenHolder, Tokens
from agency_gateway.adapters.secrets import TOKEN_PREFIX, token_hash
from agency_gateway.api.limits import RateLimiter
from agency_gateway.domain.errors import IdempotencyKeyReused
from agency_gateway.metrics import AUTH_FAILURES
from collections_common.api import UnitOfWorkDep
from collections_common.audit import route_of
from collections_common.problems import Forbidden, TooManyRequests, Unauthorized

REALM = "agency-gateway"
_TOKEN = re.compile(r"agt_[A-Za-z0-9_\-]{43}")

agency_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="AgencyBearer",
    description="an access token from POST /oauth/token (client credentials)",
)


@dataclass(frozen=True)
class AgencyClient:
    """The API client a valid access token was issued to, and its agency."""

    client_id: str
    agency_id: str


def _refuse(agency: str, reason: str, detail: str) -> Unauthorized:
    AUTH_FAILURES.labels(agency, reason).inc()
    challenge = f'Bearer realm="{REALM}", error="invalid_token", error_description="{detail}"'
    return Unauthorized(detail, www_authenticate=challenge)


def bearer_token(request: Request) -> str:
    """The request's agency access token, if it has the shape of one this gateway issues (else 401)."""
    scheme, _sep, token = (request.headers.get("authorization") or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        AUTH_FAILURES.labels("unknown", "invalid_token").inc()
        raise Unauthorized(
            "this route needs an agency access token (POST /oauth/token)",
            www_authenticate=f'Bearer realm="{REALM}"',
        )
    if not token.startswith(TOKEN_PREFIX) or not _TOKEN.fullmatch(token):
        raise _refuse("unknown", "invalid_token", "the token is not one this gateway issued")
    return token


def authorise(
    request: Request, holder: TokenHolder | None, *, now: datetime, rate_limited: bool = True
) -> AgencyClient:
    """The caller, if ``holder`` (as the database stands now) holds a live token of an unrevoked,
    current client of an active agency; within its rate limit unless ``rate_limited`` is False
    (the caller counted the request already)."""
    if holder is None:
        raise _refuse("unknown", "invalid_token", "the token is not one this gateway issued")
    if holder.expires_at <= now:
        raise _refuse(holder.agency_id, "expired_token", "the token has expired")
    if holder.revoked or holder.token_generation != holder.client_generation:
        raise _refuse(holder.agency_id, "revoked_client", "the token's client was revoked or rotated")
    if not holder.agency_active:
        AUTH_FAILURES.labels(holder.agency_id, "forbidden").inc()
        raise Forbidden("the agency is not active")
    request.state.client_id = holder.client_id
    if rate_limited:
        limiter: RateLimiter = request.app.state.rate_limiter
        wait = limiter.allow(holder.client_id)
        if wait:
            raise TooManyRequests("this client is over its rate limit", retry_after_seconds=wait)
    return AgencyClient(client_id=holder.client_id, agency_id=holder.agency_id)


async def agency_client(
    request: Request,
    uow: UnitOfWorkDep,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(agency_bearer)],
) -> AgencyClient:
    """The caller, if its bearer token is a live token of an unrevoked, current client of an
    active agency (checked against the database on every request); within its rate limit."""
    token = bearer_token(request)
    holder = await Tokens(uow.session).holder(token_hash(token))
    return authorise(request, holder, now=datetime.now(UTC))


AgencyClientDep = Annotated[AgencyClient, Depends(agency_client)]

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="a key of the caller's choosing; a repeat with it answers the first answer",
    ),
]


def _request_hash(route: str, path_values: dict[str, Any], body: BaseModel) -> bytes:
    canonical = json.dumps(
        {"route": route, "path": path_values, "body": body.model_dump(mode="json")},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).digest()


@dataclass
class Idempotent:
    """One idempotent write: ``first`` is the stored answer of an earlier request with the key."""

    keys: IdempotencyKeys
    agency_id: str
    key: str
    first: StoredAnswer | None

    async def remember(self, status_code: int, answer: BaseModel) -> None:
        await self.keys.complete(self.agency_id, self.key, status_code, answer.model_dump(mode="json"))


async def idempotent(
    uow: Any, request: Request, client: AgencyClient, key: str, body: BaseModel
) -> Idempotent:
    """Claim ``key`` for this write, or find the first answer given with it (422 if that request
    differed). A concurrent request with the key waits until the first one commits."""
    keys = IdempotencyKeys(uow.session)
    route = route_of(request)
    request_hash = _request_hash(route, dict(request.path_params), body)
    if await keys.claim(client.agency_id, key, route, request_hash):
        return Idempotent(keys, client.agency_id, key, None)
    stored = await keys.find(client.agency_id, key)
    if stored is None or stored.request_hash != request_hash:
        raise IdempotencyKeyReused()
    return Idempotent(keys, client.agency_id, key, stored)

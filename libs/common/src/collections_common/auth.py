"""Staff identity (DOMAIN.md section 9): bearer JWTs from the bank's OpenID Connect provider.

A token is admitted when its signature verifies against a key of the configured JWKS (found by
the token's ``kid``), with a public-key algorithm from the allowed list that matches the key, and
its ``iss``, ``aud``, ``exp`` (required; a small leeway for clock skew) and ``sub`` hold. Roles
come from a configured claim. A route names the roles it admits::

    @router.get("/cases/{case_id}")
    async def get_case(*, staff: Annotated[StaffPrincipal, Depends(require_roles("collector"))]): ...

No or a non-Bearer ``Authorization`` answers 401 with ``WWW-Authenticate: Bearer realm=...``; a
token that does not verify answers 401 with ``error="invalid_token"`` (RFC 6750 section 3); a
verified token without an admitted role answers 403 with ``error="insufficient_scope"``.

A token that verified is remembered (``TokenVerifier``'s bounded cache, keyed by the exact token
string): the same token again is admitted without its signature checked again while its ``exp``
(and ``nbf``, ``iat``) still admit it, with the same leeway, and while the JWKS still gives the
same key object for its ``kid`` (a JWKS read again, or a key gone, verifies it in full again).
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Protocol

import jwt
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from fastapi.security.http import HTTPAuthorizationCredentials
from jwt import PyJWK, PyJWKClient, PyJWKSet
from starlette.routing import BaseRoute

from collections_common.problems import Forbidden, ServiceUnavailable, Unauthorized
from collections_common.settings import StaffAuthSettings

__all__ = [
    "InvalidToken",
    "JwksEndpoint",
    "JwksFile",
    "KeySet",
    "KeySetUnavailable",
    "Role",
    "RoleGuard",
    "StaffPrincipal",
    "TokenVerifier",
    "install_staff_auth",
    "require_roles",
]

log = logging.getLogger(__name__)

REALM = "collections"
MAX_TOKEN_BYTES = 8192
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


class Role(StrEnum):
    """The staff roles of DOMAIN.md section 9."""

    COLLECTOR = "collector"
    SUPERVISOR = "supervisor"
    LEGAL = "legal"
    FIELD = "field"
    AGENCY_ADMIN = "agency_admin"
    AUDITOR = "auditor"


@dataclass(frozen=True)
class StaffPrincipal:
    """A member of staff whose token verified: who (``subject``), and the roles they hold."""

    subject: str
    roles: frozenset[Role]
    name: str | None = None


class InvalidToken(Exception):
    """The token does not verify; ``reason`` is safe to tell the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class KeySetUnavailable(Exception):
    """The JWKS cannot be read (the provider does not answer, or the file is missing or invalid)."""


class KeySet(Protocol):
    """Where the provider's public keys come from."""

    async def signing_key(self, kid: str) -> PyJWK:
        """The key named ``kid``; raises InvalidToken if there is none, KeySetUnavailable if unreadable."""
        ...


def _signing_keys(key_set: PyJWKSet) -> dict[str, PyJWK]:
    return {key.key_id: key for key in key_set.keys if key.key_id and key.public_key_use in ("sig", None)}


class JwksFile:
    """A JWKS in a local file (the local run and the tests), read again whenever it changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._keys: dict[str, PyJWK] = {}

    async def signing_key(self, kid: str) -> PyJWK:
        try:
            stat = self.path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            if stamp != self._stamp:
                self._keys = _signing_keys(PyJWKSet.from_json(self.path.read_text()))
                self._stamp = stamp
        except (OSError, ValueError, jwt.PyJWTError) as exc:
            raise KeySetUnavailable(f"the JWKS file {self.path} cannot be read") from exc
        try:
            return self._keys[kid]
        except KeyError:
            raise InvalidToken("the token's signing key is not one of the provider's") from None


class JwksEndpoint:
    """The provider's JWKS URL, fetched with PyJWT's client (cached; refetched for an unknown kid).

    A key the client returned is kept here too, so that a request whose key is known goes
    through no worker thread (PyJWT's client is synchronous). Each of the two caches lasts half
    of ``cache_seconds``, so no key is used longer than ``cache_seconds`` after it was fetched.
    """

    def __init__(self, url: str, *, cache_seconds: int, timeout_seconds: float = 5.0) -> None:
        self._lifespan = cache_seconds / 2
        self._client = PyJWKClient(url, cache_jwk_set=True, lifespan=self._lifespan, timeout=timeout_seconds)
        self._known: dict[str, tuple[PyJWK, float]] = {}

    async def signing_key(self, kid: str) -> PyJWK:
        known = self._known.get(kid)
        if known is not None and time.monotonic() - known[1] < self._lifespan:
            return known[0]
        try:
            key = await asyncio.to_thread(self._client.get_signing_key, kid)
            self._known[kid] = (key, time.monotonic())
            return key
        except jwt.PyJWKClientConnectionError as exc:
            raise KeySetUnavailable("the identity provider's JWKS does not answer") from exc
        except jwt.PyJWKClientError as exc:
            raise InvalidToken("the token's signing key is not one of the provider's") from exc
        except jwt.PyJWTError as exc:
            raise KeySetUnavailable("the identity provider's JWKS is unusable") from exc


def key_set_at(location: str, *, cache_seconds: int) -> KeySet:
    """A JWKS URL (http or https) or a file path."""
    if location.startswith(("https://", "http://")):
        return JwksEndpoint(location, cache_seconds=cache_seconds)
    return JwksFile(Path(location.removeprefix("file://")))


_REASONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "the token has expired"),
    (jwt.ImmatureSignatureError, "the token is not valid yet"),
    (jwt.InvalidIssuerError, "the token's issuer is not accepted"),
    (jwt.InvalidAudienceError, "the token is not meant for this service"),
    (jwt.InvalidSignatureError, "the token's signature does not verify"),
    (jwt.InvalidAlgorithmError, "the token's algorithm is not accepted"),
    (jwt.MissingRequiredClaimError, "the token lacks a required claim"),
    (jwt.InvalidIssuedAtError, "the token's issue time is not valid"),
)


@dataclass(frozen=True, slots=True)
class _Verified:
    """A token that verified: whom it names, the key it verified with, and when it admits."""

    principal: StaffPrincipal
    kid: str
    key: PyJWK
    admits_from: float
    """The earliest time (Unix seconds) PyJWT admits it: ``nbf`` and ``iat`` less the leeway."""
    admits_until: float
    """Admitted before this time: ``exp`` plus the leeway (PyJWT refuses ``exp <= now - leeway``)."""


def _claim_time(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    return float(int(value)) if value is not None else None  # int(): as PyJWT compares it


class TokenVerifier:
    """Verifies staff tokens and reads who they name.

    Up to ``cache_size`` verified tokens are remembered, the least recently used forgotten first
    (see the module docstring); ``cache_size=0`` verifies every token in full.
    """

    def __init__(
        self,
        keys: KeySet,
        *,
        issuer: str,
        audience: str,
        algorithms: Iterable[str],
        roles_claim: str = "roles",
        leeway_seconds: int = 30,
        cache_size: int = 4096,
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.algorithms = tuple(algorithms)
        self.roles_claim = roles_claim
        self.leeway_seconds = leeway_seconds
        self.cache_size = cache_size
        self._verified: OrderedDict[str, _Verified] = OrderedDict()

    @classmethod
    def from_settings(cls, settings: StaffAuthSettings) -> TokenVerifier:
        return cls(
            key_set_at(settings.jwks, cache_seconds=settings.jwks_cache_seconds),
            issuer=settings.issuer,
            audience=settings.audience,
            algorithms=settings.algorithms,
            roles_claim=settings.roles_claim,
            leeway_seconds=settings.leeway_seconds,
        )

    async def verify(self, token: str) -> StaffPrincipal:
        """The principal the token names; raises InvalidToken, or KeySetUnavailable."""
        known = self._verified.get(token)
        if known is not None:
            if known.admits_from <= time.time() < known.admits_until:
                try:
                    key: PyJWK | None = await self.keys.signing_key(known.kid)
                except InvalidToken:
                    key = None
                if key is known.key:
                    if token in self._verified:
                        self._verified.move_to_end(token)
                    return known.principal
            self._verified.pop(token, None)
        return await self._verify(token)

    async def _verify(self, token: str) -> StaffPrincipal:
        """``verify`` in full: signature and claims; remembers the token when it verifies."""
        if len(token) > MAX_TOKEN_BYTES or not _TOKEN68.fullmatch(token):
            raise InvalidToken("the token is malformed")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("the token is malformed") from None
        if header.get("alg") not in self.algorithms:
            raise InvalidToken("the token's algorithm is not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("the token names no signing key (kid)")
        key = await self.keys.signing_key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(self.algorithms),
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_seconds,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            reason = next(
                (text for kind, text in _REASONS if isinstance(exc, kind)), "the token is malformed"
            )
            raise InvalidToken(reason) from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise InvalidToken("the token names no subject")
        name = claims.get("name", claims.get("preferred_username"))
        principal = StaffPrincipal(
            subject=subject,
            roles=roles_in(claims, self.roles_claim),
            name=name if isinstance(name, str) else None,
        )
        self._remember(token, kid, key, claims, principal)
        return principal

    def _remember(
        self, token: str, kid: str, key: PyJWK, claims: Mapping[str, Any], principal: StaffPrincipal
    ) -> None:
        if self.cache_size <= 0:
            return
        expires = _claim_time(claims, "exp")
        if expires is None:  # required, so verification refused it already
            return
        starts = [t for t in (_claim_time(claims, "nbf"), _claim_time(claims, "iat")) if t is not None]
        self._verified[token] = _Verified(
            principal=principal,
            kid=kid,
            key=key,
            admits_from=max(starts) - self.leeway_seconds if starts else -math.inf,
            admits_until=expires + self.leeway_seconds,
        )
        self._verified.move_to_end(token)
        while len(self._verified) > self.cache_size:
            self._verified.popitem(last=False)


def roles_in(claims: Mapping[str, Any], claim: str) -> frozenset[Role]:
    """The known roles under ``claim`` (a dotted path, e.g. ``realm_access.roles``); others are ignored.

    The claim holds a list of strings or one space-separated string.
    """
    value: Any = claims
    for part in claim.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    names = value.split() if isinstance(value, str) else value if isinstance(value, list) else []
    known = {role.value for role in Role}
    return frozenset(Role(name) for name in names if isinstance(name, str) and name in known)


_bearer_scheme = HTTPBearer(auto_error=False, description="a staff token from the bank's identity provider")


def _challenge(error: str | None = None, description: str | None = None) -> str:
    parts = [f'realm="{REALM}"']
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append(f'error_description="{description}"')
    return "Bearer " + ", ".join(parts)


def _bearer_token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        raise Unauthorized("this route needs a staff bearer token", www_authenticate=_challenge())
    token = token.strip()
    if not token:
        raise Unauthorized(
            "the bearer token is empty", www_authenticate=_challenge("invalid_request", "no token")
        )
    return token


class RoleGuard:
    """The dependency :func:`require_roles` returns: verifies the bearer token, checks the roles."""

    def __init__(self, admitted: frozenset[Role]) -> None:
        self.admitted = admitted
        self._listed = ", ".join(sorted(admitted))

    async def __call__(
        self,
        request: Request,
        _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
    ) -> StaffPrincipal:
        verifier: TokenVerifier | None = getattr(request.app.state, "staff_tokens", None)
        if verifier is None:
            raise RuntimeError("staff authentication is not configured")  # create_app refuses this
        token = _bearer_token(request.headers.get("authorization"))
        try:
            principal = await verifier.verify(token)
        except InvalidToken as exc:
            raise Unauthorized(exc.reason, www_authenticate=_challenge("invalid_token", exc.reason)) from None
        except KeySetUnavailable:
            log.exception("staff token keys unavailable")
            raise ServiceUnavailable("staff tokens cannot be verified now", retry_after_seconds=5) from None
        if not principal.roles & self.admitted:
            challenge = _challenge("insufficient_scope", f"needs one of: {self._listed}")
            raise Forbidden(
                f"this action admits the roles: {self._listed}", headers={"WWW-Authenticate": challenge}
            )
        request.state.staff = principal
        return principal


def require_roles(*roles: Role | str) -> RoleGuard:
    """A dependency admitting staff who hold at least one of ``roles``; it returns the principal.

    An unknown role name fails here, when the route is defined.
    """
    admitted = frozenset(Role(role) for role in roles)
    if not admitted:
        raise ValueError("require_roles needs at least one role")
    return RoleGuard(admitted)


def _api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        nested = getattr(route, "original_router", None)  # an included router, kept whole by FastAPI
        if isinstance(nested, APIRouter):
            yield from _api_routes(nested.routes)


def _uses_staff_auth(app: FastAPI) -> list[str]:
    """The paths of ``app`` whose dependencies include a ``require_roles`` dependency."""
    found: list[str] = []
    for route in _api_routes(app.routes):
        pending = list(route.dependant.dependencies)
        while pending:
            dependant = pending.pop()
            if isinstance(dependant.call, RoleGuard):
                found.append(route.path)
                break
            pending.extend(dependant.dependencies)
    return found


def install_staff_auth(app: FastAPI, settings: StaffAuthSettings | None) -> None:
    """Give ``app`` its token verifier; refuse to build an app whose routes need one it lacks.

    The check sees ``require_roles`` on routes and in an ``APIRouter(dependencies=...)``; one given
    only to ``include_router(..., dependencies=...)`` is caught at request time instead (a 500, logged).
    """
    if settings is not None:
        app.state.staff_tokens = TokenVerifier.from_settings(settings)
        return
    protected = _uses_staff_auth(app)
    if protected:
        raise RuntimeError(
            f"routes {protected} need staff tokens: set AUTH_JWKS_URL, AUTH_ISSUER and AUTH_AUDIENCE"
        )

"""Staff identity (DOMAIN.md section 9): who may call a route, and how a refusal reads."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Annotated, Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import APIRouter, Depends
from pydantic import ValidationError

from collections_common.auth import (
    InvalidToken,
    JwksEndpoint,
    JwksFile,
    Role,
    StaffPrincipal,
    TokenVerifier,
    require_roles,
)
from collections_common.problems import PROBLEM_JSON
from collections_common.settings import LOCAL_AUTH_JWKS, ServiceSettings
from collections_common.staff_tokens import SigningKey
from tests.auth_tokens import AUDIENCE, ISSUER, StaffTokens
from tests.unit.common.web_apps import build_app, client

router = APIRouter()


@router.get("/cases")
async def list_cases(
    *, staff: Annotated[StaffPrincipal, Depends(require_roles(Role.COLLECTOR, "supervisor"))]
) -> dict[str, Any]:
    return {"subject": staff.subject, "name": staff.name, "roles": sorted(staff.roles)}


@pytest.fixture
def idp(tmp_path: Path) -> StaffTokens:
    return StaffTokens(tmp_path / "jwks.json")


async def call(idp: StaffTokens, authorization: str | None, **settings: Any) -> Any:
    app = build_app([router], settings=idp.settings(**settings))
    headers = {} if authorization is None else {"Authorization": authorization}
    async with client(app) as http:
        return await http.get("/cases", headers=headers)


def assert_invalid_token(response: Any, reason: str) -> None:
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["www-authenticate"] == (
        f'Bearer realm="collections", error="invalid_token", error_description="{reason}"'
    )
    assert response.json()["detail"] == reason


class TestAdmitted:
    async def test_a_valid_token_with_an_admitted_role_admits(self, idp: StaffTokens) -> None:
        response = await call(idp, f"Bearer {idp.token('collector', 'janitor', name='Alice Wang')}")
        assert response.status_code == 200
        assert response.json() == {"subject": "alice", "name": "Alice Wang", "roles": ["collector"]}

    async def test_any_one_of_the_roles_admits(self, idp: StaffTokens) -> None:
        assert (await call(idp, f"Bearer {idp.token('supervisor')}")).status_code == 200

    async def test_the_scheme_is_case_insensitive(self, idp: StaffTokens) -> None:
        assert (await call(idp, f"bearer {idp.token('collector')}")).status_code == 200

    async def test_roles_may_sit_under_a_dotted_claim_as_one_string(self, idp: StaffTokens) -> None:
        token = idp.key.mint(
            subject="bob",
            roles=[],
            issuer=ISSUER,
            audience=AUDIENCE,
            claims={"realm_access": {"roles": "field supervisor"}},
        )
        response = await call(idp, f"Bearer {token}", auth_roles_claim="realm_access.roles")
        assert response.json()["roles"] == ["field", "supervisor"]

    async def test_an_expiry_within_the_leeway_is_admitted(self, idp: StaffTokens) -> None:
        token = idp.token("collector", lifetime=timedelta(seconds=-10))
        assert (await call(idp, f"Bearer {token}", auth_leeway_seconds=30)).status_code == 200
        strict = await call(idp, f"Bearer {token}", auth_leeway_seconds=0)
        assert_invalid_token(strict, "the token has expired")

    async def test_es256_tokens_verify_against_an_ec_key(self, idp: StaffTokens) -> None:
        private = ec.generate_private_key(ec.SECP256R1())
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
        idp.jwks_path.write_text(json.dumps({"keys": [{**jwk, "kid": "ec-1", "alg": "ES256", "use": "sig"}]}))
        claims = {**idp.claims("collector")}
        token = jwt.encode(claims, private, algorithm="ES256", headers={"kid": "ec-1"})
        assert (await call(idp, f"Bearer {token}")).status_code == 200

    async def test_a_rotated_jwks_file_is_read_again(self, idp: StaffTokens) -> None:
        app = build_app([router], settings=idp.settings())
        new_key = SigningKey.generate()
        async with client(app) as http:
            old = await http.get("/cases", headers={"Authorization": f"Bearer {idp.token('collector')}"})
            assert old.status_code == 200
            idp.rotate([idp.key, new_key])
            token = idp.token("collector", key=new_key)
            assert (await http.get("/cases", headers={"Authorization": f"Bearer {token}"})).status_code == 200


class TestUnauthenticated:
    @pytest.mark.parametrize("authorization", [None, "Basic YWxpY2U6c2VjcmV0", "Token abc"])
    async def test_no_bearer_token_is_a_401_challenge_without_an_error_code(
        self, idp: StaffTokens, authorization: str | None
    ) -> None:
        response = await call(idp, authorization)
        assert response.status_code == 401
        assert response.headers["content-type"] == PROBLEM_JSON
        assert response.headers["www-authenticate"] == 'Bearer realm="collections"'
        assert response.json()["type"].endswith("/unauthorized")

    async def test_an_empty_bearer_token_is_an_invalid_request(self, idp: StaffTokens) -> None:
        response = await call(idp, "Bearer   ")
        assert response.status_code == 401
        assert 'error="invalid_request"' in response.headers["www-authenticate"]

    @pytest.mark.parametrize("token", ["abc.def", "a.b.c", "not a token", "x" * 9000])
    async def test_a_malformed_token_is_invalid(self, idp: StaffTokens, token: str) -> None:
        assert_invalid_token(await call(idp, f"Bearer {token}"), "the token is malformed")

    async def test_an_expired_token_is_invalid(self, idp: StaffTokens) -> None:
        token = idp.token("collector", lifetime=timedelta(minutes=-5))
        assert_invalid_token(await call(idp, f"Bearer {token}"), "the token has expired")

    async def test_a_token_without_expiry_is_invalid(self, idp: StaffTokens) -> None:
        claims = idp.claims("collector")
        del claims["exp"]
        token = jwt.encode(claims, idp.key.private_key, algorithm="RS256", headers={"kid": idp.key.kid})
        assert_invalid_token(await call(idp, f"Bearer {token}"), "the token lacks a required claim")

    async def test_a_token_of_another_issuer_is_invalid(self, idp: StaffTokens) -> None:
        token = idp.token("collector", issuer="https://evil.example/")
        assert_invalid_token(await call(idp, f"Bearer {token}"), "the token's issuer is not accepted")

    async def test_a_token_for_another_audience_is_invalid(self, idp: StaffTokens) -> None:
        token = idp.token("collector", audience="payments-service")
        assert_invalid_token(await call(idp, f"Bearer {token}"), "the token is not meant for this service")

    async def test_a_tampered_token_is_invalid(self, idp: StaffTokens) -> None:
        header, _, signature = idp.token("collector").split(".")
        forged = jwt.utils.base64url_encode(json.dumps(idp.claims("supervisor")).encode()).decode()
        assert_invalid_token(
            await call(idp, f"Bearer {header}.{forged}.{signature}"), "the token's signature does not verify"
        )

    async def test_a_token_signed_by_another_key_claiming_our_kid_is_invalid(self, idp: StaffTokens) -> None:
        token = idp.signed_by_another_key_with_our_kid("supervisor")
        assert_invalid_token(await call(idp, f"Bearer {token}"), "the token's signature does not verify")

    async def test_a_token_signed_by_an_unpublished_key_is_invalid(self, idp: StaffTokens) -> None:
        token = idp.token("supervisor", key=SigningKey.generate())
        assert_invalid_token(
            await call(idp, f"Bearer {token}"), "the token's signing key is not one of the provider's"
        )

    async def test_an_unsigned_token_is_invalid(self, idp: StaffTokens) -> None:
        assert_invalid_token(
            await call(idp, f"Bearer {idp.unsigned('supervisor')}"), "the token's algorithm is not accepted"
        )

    async def test_hmac_with_the_public_key_as_secret_is_invalid(self, idp: StaffTokens) -> None:
        assert_invalid_token(
            await call(idp, f"Bearer {idp.hmac_with_public_key('supervisor')}"),
            "the token's algorithm is not accepted",
        )

    async def test_a_token_naming_no_key_is_invalid(self, idp: StaffTokens) -> None:
        claims = idp.claims("collector")
        token = jwt.encode(claims, idp.key.private_key, algorithm="RS256")
        assert_invalid_token(await call(idp, f"Bearer {token}"), "the token names no signing key (kid)")

    async def test_an_unreadable_jwks_is_a_503_not_an_admission(self, idp: StaffTokens) -> None:
        token = idp.token("collector")
        idp.jwks_path.unlink()
        response = await call(idp, f"Bearer {token}")
        assert response.status_code == 503
        assert "jwks" not in response.text.lower()


class TestForbidden:
    @pytest.mark.parametrize("roles", [("auditor",), ("legal", "field"), ()])
    async def test_a_valid_token_without_an_admitted_role_is_a_403(
        self, idp: StaffTokens, roles: tuple[str, ...]
    ) -> None:
        response = await call(idp, f"Bearer {idp.token(*roles)}")
        assert response.status_code == 403
        assert response.headers["content-type"] == PROBLEM_JSON
        assert response.json()["detail"] == "this action admits the roles: collector, supervisor"
        assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


class TestConfiguration:
    def test_an_unknown_role_fails_where_the_route_is_defined(self) -> None:
        with pytest.raises(ValueError, match="janitor"):
            require_roles("janitor")

    def test_symmetric_or_no_algorithms_are_refused(self) -> None:
        for algorithms in (["HS256"], ["none"], ["RS256", "HS512"]):
            with pytest.raises(ValidationError, match="auth_algorithms"):
                ServiceSettings(auth_algorithms=algorithms)

    def test_an_app_whose_routes_need_staff_tokens_will_not_build_without_a_provider(self) -> None:
        with pytest.raises(RuntimeError, match="AUTH_JWKS_URL"):
            build_app([router], settings=ServiceSettings(environment="production"))

    def test_a_router_wide_requirement_is_seen_too(self) -> None:
        audit = APIRouter(prefix="/admin", dependencies=[Depends(require_roles("auditor"))])

        @audit.get("/audit")
        async def read_audit() -> None:
            return None

        outer = APIRouter()
        outer.include_router(audit)
        with pytest.raises(RuntimeError, match="/admin/audit"):
            build_app([outer], settings=ServiceSettings(environment="production"))

    def test_an_app_without_staff_routes_builds_without_a_provider(self) -> None:
        build_app([APIRouter()], settings=ServiceSettings(environment="production"))

    def test_only_the_local_run_has_defaults(self) -> None:
        local = ServiceSettings(environment="local").staff_auth
        assert local is not None and local.jwks == LOCAL_AUTH_JWKS
        assert ServiceSettings(environment="production").staff_auth is None
        assert ServiceSettings(environment="test").staff_auth is None

    def test_the_openapi_document_names_the_bearer_scheme(self, idp: StaffTokens) -> None:
        document = build_app([router], settings=idp.settings()).openapi()
        assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
        assert document["paths"]["/cases"]["get"]["security"] == [{"HTTPBearer": []}]


@pytest.fixture
def jwks_server(idp: StaffTokens) -> Iterator[str]:
    body = idp.jwks_path.read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks"
    finally:
        server.shutdown()
        server.server_close()


class TestJwksEndpoint:
    async def test_a_known_key_is_served_without_a_worker_thread_until_half_the_cache_time(
        self, idp: StaffTokens, jwks_server: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        hops: list[object] = []
        real = asyncio.to_thread

        async def counted(func: Any, /, *args: Any) -> Any:
            hops.append(func)
            return await real(func, *args)

        monkeypatch.setattr("collections_common.auth.asyncio.to_thread", counted)
        keys = JwksEndpoint(jwks_server, cache_seconds=1)
        verifier = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE, algorithms=["RS256"])
        for _ in range(3):
            await verifier.verify(idp.token("legal", subject="carol"))
        assert len(hops) == 1
        await asyncio.sleep(0.6)  # past half of cache_seconds: asked of the client again
        await verifier.verify(idp.token("legal", subject="carol"))
        assert len(hops) == 2

    async def test_keys_are_fetched_from_the_providers_url(self, idp: StaffTokens, jwks_server: str) -> None:
        keys = JwksEndpoint(jwks_server, cache_seconds=60)
        verifier = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE, algorithms=["RS256"])
        principal = await verifier.verify(idp.token("legal", subject="carol"))
        assert principal == StaffPrincipal(subject="carol", roles=frozenset({Role.LEGAL}))
        with pytest.raises(InvalidToken, match="not one of the provider's"):
            await verifier.verify(idp.token("legal", key=SigningKey.generate()))


class TestVerifiedTokens:
    """A token that verified is admitted again without its signature checked again, within bounds."""

    @pytest.fixture
    def decoded(self, monkeypatch: pytest.MonkeyPatch) -> list[str]:
        """The tokens PyJWT decoded (verified in full)."""
        tokens: list[str] = []
        real = jwt.decode

        def counted(token: str, *args: Any, **kwargs: Any) -> Any:
            tokens.append(token)
            return real(token, *args, **kwargs)

        monkeypatch.setattr(jwt, "decode", counted)
        return tokens

    @staticmethod
    def verifier(idp: StaffTokens, **options: Any) -> TokenVerifier:
        keys = JwksFile(idp.jwks_path)
        return TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE, algorithms=["RS256"], **options)

    async def test_the_same_token_again_is_not_decoded_again(
        self, idp: StaffTokens, decoded: list[str]
    ) -> None:
        verifier = self.verifier(idp)
        token = idp.token("collector", name="Alice Wang")
        first = await verifier.verify(token)
        assert await verifier.verify(token) == first
        assert first == StaffPrincipal("alice", frozenset({Role.COLLECTOR}), "Alice Wang")
        other = idp.token("supervisor", subject="bob")
        assert (await verifier.verify(other)).subject == "bob"
        assert decoded == [token, other]

    async def test_a_remembered_token_past_its_expiry_is_refused(self, idp: StaffTokens) -> None:
        verifier = self.verifier(idp, leeway_seconds=0)
        token = idp.token("collector", lifetime=timedelta(seconds=1))
        await verifier.verify(token)
        expires = jwt.decode(token, options={"verify_signature": False})["exp"]
        await asyncio.sleep(max(0.0, expires - time.time()) + 0.05)
        with pytest.raises(InvalidToken, match="expired"):
            await verifier.verify(token)

    async def test_a_remembered_token_whose_key_left_the_jwks_is_refused(self, idp: StaffTokens) -> None:
        verifier = self.verifier(idp)
        token = idp.token("collector")
        await verifier.verify(token)
        idp.rotate([SigningKey.generate()])
        with pytest.raises(InvalidToken, match="not one of the provider's"):
            await verifier.verify(token)

    async def test_a_jwks_read_again_verifies_a_remembered_token_again(
        self, idp: StaffTokens, decoded: list[str]
    ) -> None:
        verifier = self.verifier(idp)
        token = idp.token("collector")
        await verifier.verify(token)
        idp.rotate([idp.key, SigningKey.generate()])
        assert (await verifier.verify(token)).subject == "alice"
        assert (await verifier.verify(token)).subject == "alice"
        assert decoded == [token, token]

    async def test_the_least_recently_used_token_is_forgotten_first(
        self, idp: StaffTokens, decoded: list[str]
    ) -> None:
        verifier = self.verifier(idp, cache_size=2)
        first, second, third = (idp.token("collector", subject=name) for name in ("a", "b", "c"))
        for token in (first, second, first, third):  # ``second`` is the least recently used
            await verifier.verify(token)
        await verifier.verify(first)
        await verifier.verify(second)
        assert decoded == [first, second, third, second]

    async def test_a_cache_of_size_zero_verifies_every_time(
        self, idp: StaffTokens, decoded: list[str]
    ) -> None:
        verifier = self.verifier(idp, cache_size=0)
        token = idp.token("collector")
        await verifier.verify(token)
        await verifier.verify(token)
        assert decoded == [token, token]

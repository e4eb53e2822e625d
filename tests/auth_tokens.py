"""Staff tokens for tests: a test key, its JWKS in a file, and tokens good and bad.

``StaffTokens`` mints what the bank's identity provider would (``token(...)``) and forges what an
attacker might (unsigned, HMAC-signed with the public key, signed by another key).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from collections_common.settings import ServiceSettings
from collections_common.staff_tokens import SigningKey

ISSUER = "https://idp.bank.test/realms/staff"
AUDIENCE = "collections-test"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned_parts(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"


@dataclass
class StaffTokens:
    """A test identity provider whose JWKS is ``jwks_path``."""

    jwks_path: Path
    key: SigningKey = field(default_factory=SigningKey.generate)

    def __post_init__(self) -> None:
        self.key.write_jwks(self.jwks_path)

    def settings(self, **overrides: Any) -> ServiceSettings:
        """Service settings that trust this provider."""
        values: dict[str, Any] = {
            "environment": "test",
            "auth_jwks_url": str(self.jwks_path),
            "auth_issuer": ISSUER,
            "auth_audience": AUDIENCE,
            **overrides,
        }
        return ServiceSettings(**values)

    def token(
        self,
        *roles: str,
        subject: str = "alice",
        lifetime: timedelta = timedelta(minutes=15),
        issuer: str = ISSUER,
        audience: str = AUDIENCE,
        key: SigningKey | None = None,
        **claims: Any,
    ) -> str:
        return (key or self.key).mint(
            subject=subject,
            roles=roles,
            issuer=issuer,
            audience=audience,
            lifetime=lifetime,
            claims=claims,
        )

    def claims(self, *roles: str) -> dict[str, Any]:
        """The claims of a valid token, for forging."""
        token = self.token(*roles)
        payload = token.split(".")[1]
        return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))

    def unsigned(self, *roles: str) -> str:
        """``alg: none``: no signature at all."""
        return _unsigned_parts({"alg": "none", "typ": "JWT", "kid": self.key.kid}, self.claims(*roles)) + "."

    def hmac_with_public_key(self, *roles: str) -> str:
        """HS256 with the provider's public key (PEM) as the secret: the algorithm-confusion attack."""
        secret = self.key.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        header = {"alg": "HS256", "typ": "JWT", "kid": self.key.kid}
        signing_input = _unsigned_parts(header, self.claims(*roles))
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64url(signature)}"

    def signed_by_another_key_with_our_kid(self, *roles: str) -> str:
        """Signed by a key the provider never published, claiming the provider's ``kid``."""
        other = SigningKey.generate()
        return other.mint(
            subject="mallory",
            roles=roles,
            issuer=ISSUER,
            audience=AUDIENCE,
            headers={"kid": self.key.kid},
        )

    def rotate(self, keys: Iterable[SigningKey]) -> None:
        """Publish ``keys`` as the provider's JWKS."""
        self.jwks_path.write_text(json.dumps({"keys": [key.public_jwk() for key in keys]}))

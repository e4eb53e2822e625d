"""Staff tokens signed with a key of our own: for the local run and the tests, never production.

A :class:`SigningKey` is an RSA key with a ``kid`` (its RFC 7638 thumbprint); it writes the JWKS
the services verify against and mints tokens shaped like the bank's identity provider's.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = ["SigningKey"]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class SigningKey:
    """An RSA private key that signs staff tokens with RS256."""

    def __init__(self, private_key: rsa.RSAPrivateKey) -> None:
        self.private_key = private_key
        numbers = private_key.public_key().public_numbers()
        self._public_jwk = {
            "e": _b64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
            "kty": "RSA",
            "n": _b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
        }
        canonical = json.dumps(self._public_jwk, separators=(",", ":"), sort_keys=True).encode()
        self.kid = _b64url(hashlib.sha256(canonical).digest())

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @classmethod
    def load_or_create(cls, path: Path) -> SigningKey:
        """The key in ``path`` (PEM), created there (readable by its owner only) if missing."""
        if path.exists():
            loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(loaded, rsa.RSAPrivateKey):
                raise ValueError(f"{path} does not hold an RSA private key")
            return cls(loaded)
        key = cls.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = key.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
        return key

    def public_jwk(self) -> dict[str, str]:
        return {**self._public_jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [self.public_jwk()]}

    def write_jwks(self, path: Path) -> None:
        """Write the JWKS of this key to ``path`` (replacing it atomically)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        partial.write_text(json.dumps(self.jwks(), indent=2))
        partial.replace(path)

    def mint(
        self,
        *,
        subject: str,
        roles: Iterable[str],
        issuer: str,
        audience: str,
        lifetime: timedelta = timedelta(minutes=15),
        now: datetime | None = None,
        name: str | None = None,
        roles_claim: str = "roles",
        claims: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
    ) -> str:
        """A signed token; ``claims`` and ``headers`` add to (or override) what is minted."""
        issued = now or datetime.now(UTC)
        payload: dict[str, Any] = {
            "iss": issuer,
            "aud": audience,
            "sub": subject,
            "iat": int(issued.timestamp()),
            "exp": int((issued + lifetime).timestamp()),
            "jti": uuid.uuid4().hex,
        }
        if name is not None:
            payload["name"] = name
        nested: dict[str, Any] = payload
        *parents, leaf = roles_claim.split(".")
        for part in parents:
            nested = nested.setdefault(part, {})
        nested[leaf] = list(roles)
        payload.update(claims or {})
        return jwt.encode(
            payload, self.private_key, algorithm="RS256", headers={"kid": self.kid, **(headers or {})}
        )

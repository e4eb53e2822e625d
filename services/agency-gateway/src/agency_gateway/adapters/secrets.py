"""Client secrets and access tokens: made at random, kept only as hashes.

Secrets are hashed with argon2id (slow on purpose: a leaked table does not give them away);
access tokens carry 256 random bits, so a single SHA-256 of them is enough to keep them.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

CLIENT_ID_PREFIX = "agc_"
TOKEN_PREFIX = "agt_"


def new_client_id() -> str:
    return CLIENT_ID_PREFIX + secrets.token_hex(12)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class SecretHasher:
    """argon2id with the configured cost; hashing and checking run off the event loop."""

    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int = 1) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        self._decoy = self._hasher.hash(secrets.token_urlsafe(16))

    async def hash(self, secret: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, secret)

    async def matches(self, stored_hash: str | None, secret: str) -> bool:
        """Whether ``secret`` is the one hashed; an unknown client (None) costs the same time."""
        try:
            return await asyncio.to_thread(self._hasher.verify, stored_hash or self._decoy, secret)
        except (VerificationError, InvalidHashError):
            return False

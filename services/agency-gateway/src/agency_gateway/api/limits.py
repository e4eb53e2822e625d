"""Per-client rate limits: a token bucket per key, in this process; and the clients of the tokens
seen, so that a request can be counted against its client before the database answers."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable


class RateLimiter:
    """``rate`` requests per second on average, ``burst`` at once, per key.

    ``allow`` answers 0 when the request may go ahead, else the seconds to wait. At most
    ``max_keys`` buckets are kept (the least recently used go first: a full bucket again).
    """

    def __init__(
        self,
        *,
        rate: float,
        burst: int,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, key: str) -> int:
        now = self._clock()
        tokens, last = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            wait = 0
        else:
            self._buckets[key] = (tokens, now)
            wait = max(1, math.ceil((1.0 - tokens) / self.rate))
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait

    def refund(self, key: str) -> None:
        """Give back the request ``allow`` let through last (it was not served after all)."""
        bucket = self._buckets.get(key)
        if bucket is not None:
            tokens, last = bucket
            self._buckets[key] = (min(float(self.burst), tokens + 1.0), last)


class TokenClients:
    """Which client each access token (by hash) was issued to, as seen on earlier requests: a
    hint for counting a request against its client's rate before the database answers, never
    an authorisation. At most ``max_keys`` are kept (the least recently used go first)."""

    def __init__(self, *, max_keys: int = 100_000) -> None:
        self.max_keys = max_keys
        self._clients: OrderedDict[bytes, str] = OrderedDict()

    def get(self, token_hash: bytes) -> str | None:
        client_id = self._clients.get(token_hash)
        if client_id is not None:
            self._clients.move_to_end(token_hash)
        return client_id

    def remember(self, token_hash: bytes, client_id: str) -> None:
        self._clients[token_hash] = client_id
        self._clients.move_to_end(token_hash)
        while len(self._clients) > self.max_keys:
            self._clients.popitem(last=False)

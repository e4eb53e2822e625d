"""Rate limits and the outer guard (body size, timeout, headers), without a database."""

from __future__ import annotations

import asyncio

import httpx
from starlette.types import Receive, Scope, Send

from agency_gateway.api.guard import GatewayGuard
from agency_gateway.api.limits import RateLimiter, TokenClients


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class TestRateLimiter:
    def test_a_burst_is_allowed_then_the_rate(self) -> None:
        clock = Clock()
        limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
        assert [limiter.allow("c") for _ in range(4)] == [0, 0, 0, 1]
        clock.now = 0.5
        assert limiter.allow("c") == 0
        assert limiter.allow("c") == 1

    def test_clients_have_buckets_of_their_own(self) -> None:
        limiter = RateLimiter(rate=1.0, burst=1, clock=Clock())
        assert (limiter.allow("a"), limiter.allow("a"), limiter.allow("b")) == (0, 1, 0)

    def test_the_wait_is_the_time_to_the_next_token(self) -> None:
        limiter = RateLimiter(rate=0.1, burst=1, clock=Clock())
        limiter.allow("a")
        assert limiter.allow("a") == 10

    def test_it_keeps_at_most_max_keys_buckets(self) -> None:
        limiter = RateLimiter(rate=1.0, burst=1, max_keys=2, clock=Clock())
        for key in "abc":
            limiter.allow(key)
        assert limiter.allow("a") == 0  # forgotten: a full bucket again

    def test_a_refunded_request_can_be_made_again_but_not_beyond_the_burst(self) -> None:
        limiter = RateLimiter(rate=1.0, burst=2, clock=Clock())
        assert (limiter.allow("a"), limiter.allow("a"), limiter.allow("a")) == (0, 0, 1)
        limiter.refund("a")
        assert (limiter.allow("a"), limiter.allow("a")) == (0, 1)
        limiter.refund("a")
        limiter.refund("a")
        limiter.refund("a")
        assert (limiter.allow("a"), limiter.allow("a"), limiter.allow("a")) == (0, 0, 1)


class TestTokenClients:
    def test_it_remembers_each_tokens_client_and_forgets_the_least_recently_used(self) -> None:
        known = TokenClients(max_keys=2)
        known.remember(b"t1", "agc_1")
        known.remember(b"t2", "agc_2")
        assert known.get(b"t1") == "agc_1"  # now the most recently used
        known.remember(b"t3", "agc_3")
        assert (known.get(b"t1"), known.get(b"t2"), known.get(b"t3")) == ("agc_1", None, "agc_3")


async def slow_app(scope: Scope, receive: Receive, send: Send) -> None:
    await asyncio.sleep(1)


async def echo_app(scope: Scope, receive: Receive, send: Send) -> None:
    message = await receive()
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"x-content-type-options", b"sniff")]}
    )
    await send({"type": "http.response.body", "body": message.get("body", b"")})


def client(app: GatewayGuard) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


class TestGuard:
    async def test_a_request_that_takes_too_long_is_a_503_problem(self) -> None:
        async with client(GatewayGuard(slow_app, max_body_bytes=100, timeout_seconds=0.05)) as http:
            response = await http.get("/")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"] == "1"

    async def test_the_body_reaches_the_app_whole_and_headers_are_ours(self) -> None:
        async with client(GatewayGuard(echo_app, max_body_bytes=100, timeout_seconds=1)) as http:
            response = await http.post("/", content=b"hello")
        assert response.content == b"hello"
        assert response.headers.get_list("x-content-type-options") == ["nosniff"]

    async def test_a_body_over_the_limit_is_413(self) -> None:
        async with client(GatewayGuard(echo_app, max_body_bytes=4, timeout_seconds=1)) as http:
            response = await http.post("/", content=b"hello")
        assert response.status_code == 413

"""The gateway's outer guard (ASGI): body size limit, request timeout, security headers, and the
request metrics by route, client and status."""

from __future__ import annotations

import asyncio
import json
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agency_gateway.metrics import REQUEST_SECONDS, REQUESTS
from collections_common.problems import PROBLEM_JSON, problem_type
from collections_common.request_ids import REQUEST_ID_HEADER, request_id_of

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"referrer-policy", b"no-referrer"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
_NAMED = {name for name, _ in SECURITY_HEADERS}


class _BodyTooLarge(Exception):
    pass


class GatewayGuard:
    """Reads a request's body up to ``max_body_bytes`` (413 beyond), answers 503 after
    ``timeout_seconds``, adds security headers to every answer and counts it."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, timeout_seconds: float) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.timeout_seconds = timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_guarded(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = int(message["status"])
                response_started = True
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _NAMED]
                message = {**message, "headers": [*headers, *SECURITY_HEADERS]}
            await send(message)

        try:
            try:
                body = await self._body(scope, receive)
            except _BodyTooLarge:
                await self._problem(
                    scope,
                    send_guarded,
                    413,
                    "content-too-large",
                    "Content too large",
                    f"request bodies are limited to {self.max_body_bytes} bytes",
                )
                return
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            try:
                async with asyncio.timeout(self.timeout_seconds):
                    await self.app(scope, replay, send_guarded)
            except TimeoutError:
                if not response_started:
                    await self._problem(
                        scope,
                        send_guarded,
                        503,
                        "timeout",
                        "Service unavailable",
                        "the request took too long; try again later",
                        retry_after=1,
                    )
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            client = (scope.get("state") or {}).get("client_id") or "none"
            REQUESTS.labels(route, client, str(status)).inc()
            REQUEST_SECONDS.labels(route).observe(time.perf_counter() - started)

    async def _body(self, scope: Scope, receive: Receive) -> bytes:
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    if int(value) > self.max_body_bytes:
                        raise _BodyTooLarge()
                except ValueError:
                    raise _BodyTooLarge() from None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _BodyTooLarge()
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _problem(
        self,
        scope: Scope,
        send: Send,
        status: int,
        slug: str,
        title: str,
        detail: str,
        *,
        retry_after: int | None = None,
    ) -> None:
        body: dict[str, object] = {
            "type": problem_type(slug),
            "title": title,
            "status": status,
            "detail": detail,
        }
        headers = [(b"content-type", PROBLEM_JSON.encode())]
        request_id = request_id_of(scope)
        if request_id:
            body["request_id"] = request_id
            headers.append((REQUEST_ID_HEADER.lower().encode(), request_id.encode()))
        if retry_after is not None:
            headers.append((b"retry-after", str(retry_after).encode()))
        payload = json.dumps(body).encode()
        headers.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

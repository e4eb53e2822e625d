"""A minimal recording letter provider for the tests: an ASGI app that keeps what it is posted.

``POST /v1/letters`` stores the letter under its ``Idempotency-Key`` (a repeat answers the first
letter's id and stores nothing); ``GET /v1/letters`` lists them. ``fail_next`` makes the next
requests answer 503, like a provider having a bad minute. ``serve`` runs it with uvicorn in a
thread, for a worker process to post to.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse

from devstack._process import free_port


@dataclass
class RecordingProvider:
    letters: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: int = 0
    fail_next: int = 0

    def pdf_of(self, letter_id: str) -> bytes:
        return base64.b64decode(self.letters[letter_id]["document"]["base64"])

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/letters")
        async def post_letter(request: Request, idempotency_key: str = Header()) -> JSONResponse:
            self.requests += 1
            if self.fail_next > 0:
                self.fail_next -= 1
                return JSONResponse({"error": "try later"}, status_code=503)
            if idempotency_key not in self.letters:
                self.letters[idempotency_key] = await request.json()
            return JSONResponse({"id": f"prov-{idempotency_key}"}, status_code=201)

        @app.get("/v1/letters")
        async def list_letters() -> dict[str, Any]:
            return {"letters": list(self.letters.values())}

        return app


@contextmanager
def serve(provider: RecordingProvider) -> Iterator[str]:
    """Serves ``provider`` on a free loopback port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(provider.app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)

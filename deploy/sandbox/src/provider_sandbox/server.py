"""The sandbox's HTTP providers (what ``contact_service.adapters.providers`` and
``escalation_service.adapters.letter_provider`` post to) and SMTP sink.

``POST /v1/{sms,push,ivr}`` with ``{"to", "body", "language"}`` and an ``Idempotency-Key``
header: 200 ``{"message_id", "duplicate"}`` (a repeated key answers the first message's id and
delivers nothing new), 503 while told to fail, 400 without a key. ``GET /v1/messages`` lists
what was delivered (once per key, e-mail included), ``GET /v1/requests`` every request,
``POST /v1/control`` ``{"fail_next": n, "down": bool}`` makes it fail, ``DELETE /v1/messages``
forgets everything. The SMTP sink records each mail under its ``Message-ID``.

``POST /v1/letters`` with ``{"letter_id", "language", "recipient": {"name", "address"},
"document": {"content_type": "application/pdf", "base64"}}`` and an ``Idempotency-Key``: 201
``{"id", "duplicate"}``, the letter recorded once per key (channel ``letter``); 422 for a
document that is not a PDF. ``GET /v1/letters`` lists the letters, ``GET /v1/letters/{key}.pdf``
serves one's PDF.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from provider_sandbox.recorder import Recorder

__all__ = ["Sandbox", "create_app"]


class MessageIn(BaseModel):
    to: str = Field(min_length=1, max_length=320)
    body: str = Field(max_length=10_000)
    language: str | None = None


class Recipient(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    address: dict[str, Any]


class Document(BaseModel):
    content_type: Literal["application/pdf"]
    base64: str = Field(min_length=1, max_length=20_000_000)


class LetterIn(BaseModel):
    letter_id: str = Field(min_length=1, max_length=255)
    language: str = Field(min_length=1, max_length=35)
    recipient: Recipient
    document: Document


class Control(BaseModel):
    fail_next: int | None = Field(default=None, ge=0)
    down: bool | None = None


def create_app(recorder: Recorder) -> FastAPI:
    app = FastAPI(title="Provider sandbox")

    @app.get("/v1/messages")
    async def messages(channel: str | None = None) -> dict[str, Any]:
        return {"items": [d.public() for d in recorder.messages(channel)]}

    @app.get("/v1/requests")
    async def requests() -> dict[str, Any]:
        return {"items": [d.public() for d in list(recorder.requests)]}

    @app.post("/v1/control")
    async def control(body: Control) -> dict[str, Any]:
        recorder.control(fail_next=body.fail_next, down=body.down)
        return {"fail_next": recorder.fail_next, "down": recorder.down}

    @app.delete("/v1/messages", status_code=204)
    async def clear() -> None:
        recorder.clear()

    @app.post("/v1/letters", status_code=201)
    async def send_letter(
        letter: LetterIn, idempotency_key: str | None = Header(default=None)
    ) -> JSONResponse:
        if not idempotency_key:
            return JSONResponse({"error": "Idempotency-Key is required"}, status_code=400)
        try:
            pdf = base64.b64decode(letter.document.base64, validate=True)
        except binascii.Error:
            return JSONResponse({"error": "document.base64 is not base64"}, status_code=422)
        if not pdf.startswith(b"%PDF-"):
            return JSONResponse({"error": "the document is not a PDF"}, status_code=422)
        address = ", ".join(str(v) for v in letter.recipient.address.values() if v)
        d = recorder.receive(
            "letter", idempotency_key, letter.recipient.name, address, letter.language, document=pdf
        )
        if not d.accepted:
            return JSONResponse({"error": "the provider is unavailable"}, status_code=503)
        return JSONResponse({"id": f"letter-{idempotency_key}", "duplicate": d.duplicate}, status_code=201)

    @app.get("/v1/letters")
    async def letters() -> dict[str, Any]:
        return {
            "items": [
                {
                    **d.public(),
                    "pdf_bytes": len(recorder.document(d.idempotency_key) or b""),
                    "pdf": f"/v1/letters/{d.idempotency_key}.pdf",
                }
                for d in recorder.messages("letter")
            ]
        }

    @app.get("/v1/letters/{key}.pdf")
    async def letter_pdf(key: str) -> Response:
        pdf = recorder.document(key)
        if pdf is None:
            return JSONResponse({"error": "no such letter"}, status_code=404)
        return Response(pdf, media_type="application/pdf")

    # Last: /v1/control and the others must not be taken for a channel.
    @app.post("/v1/{channel}")
    async def send(
        channel: Literal["sms", "push", "ivr"],
        message: MessageIn,
        idempotency_key: str | None = Header(default=None),
    ) -> JSONResponse:
        if not idempotency_key:
            return JSONResponse({"error": "Idempotency-Key is required"}, status_code=400)
        d = recorder.receive(channel, idempotency_key, message.to, message.body, message.language)
        if not d.accepted:
            return JSONResponse({"error": "the provider is unavailable"}, status_code=503)
        return JSONResponse({"message_id": idempotency_key, "duplicate": d.duplicate})

    return app


class _Sink:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.original_content or b""
        mail = message_from_bytes(content)
        key = str(mail.get("Message-ID", "")).strip("<>") or f"mail-{len(self.recorder.requests)}"
        d = self.recorder.receive(
            "email",
            key,
            ", ".join(str(r) for r in envelope.rcpt_tos),
            _text(mail),
            mail.get("Content-Language"),
            mail.get("Subject"),
        )
        return "250 OK" if d.accepted else "451 the provider is unavailable"


def _text(mail: Message) -> str:
    part = next((p for p in mail.walk() if p.get_content_type() == "text/plain"), mail)
    payload = part.get_payload(decode=True)
    return payload.decode(part.get_content_charset() or "utf-8") if isinstance(payload, bytes) else ""


@dataclass
class Sandbox:
    """The SMTP sink (a thread of aiosmtpd's) sharing one recorder with the HTTP app."""

    smtp_port: int
    host: str = "127.0.0.1"
    recorder: Recorder = field(default_factory=Recorder)
    _controller: Controller | None = None

    def start_smtp(self) -> None:
        self._controller = Controller(_Sink(self.recorder), hostname=self.host, port=self.smtp_port)
        self._controller.start()

    def stop_smtp(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def app(self) -> FastAPI:
        return create_app(self.recorder)

"""The contact service's channel providers and escalation's letter provider against the provider
sandbox (its real process)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

import httpx
import pytest

from contact_service.adapters.providers import OutboundMessage, ProviderError, Providers
from contact_service.domain.contact import Channel
from devstack._process import free_port, port_open, stop_process, venv_script, wait_until
from escalation_service.adapters.letter_provider import LetterProvider, LetterRefused, OutgoingLetter


@dataclass
class Running:
    http: str
    smtp_port: int


@pytest.fixture
def sandbox() -> Iterator[Running]:
    http_port, smtp_port = free_port(), free_port()
    proc = subprocess.Popen(
        [venv_script("provider-sandbox"), "--http-port", str(http_port), "--smtp-port", str(smtp_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        for port in (http_port, smtp_port):
            wait_until(partial(port_open, port), timeout=30, what=f"sandbox on {port}")
        yield Running(f"http://127.0.0.1:{http_port}", smtp_port)
    finally:
        stop_process(proc, timeout=10)


def providers(sandbox: Running, retries: int = 2) -> Providers:
    return Providers(
        urls={c: f"{sandbox.http}/v1/{c.value}" for c in (Channel.SMS, Channel.PUSH, Channel.IVR)},
        smtp_host="127.0.0.1",
        smtp_port=sandbox.smtp_port,
        smtp_sender="collections@bank.invalid",
        timeout_seconds=5,
        retries=retries,
        backoff_seconds=0.01,
    )


def sms(key: str) -> OutboundMessage:
    return OutboundMessage(Channel.SMS, "+8613800000001", "您的账单已逾期", "zh-CN", key)


class TestProviderSandbox:
    async def test_a_repeated_idempotency_key_is_delivered_once(self, sandbox: Running) -> None:
        sender = providers(sandbox)
        await sender.send(sms("planned-1"))
        await sender.send(sms("planned-1"))
        await sender.send(sms("planned-2"))
        await sender.close()
        async with httpx.AsyncClient() as client:
            messages = (await client.get(f"{sandbox.http}/v1/messages")).json()["items"]
            requests = (await client.get(f"{sandbox.http}/v1/requests")).json()["items"]
        assert [m["idempotency_key"] for m in messages] == ["planned-1", "planned-2"]
        assert messages[0]["body"] == "您的账单已逾期" and messages[0]["language"] == "zh-CN"
        assert [r["duplicate"] for r in requests] == [False, True, False]

    async def test_failures_are_retried_and_an_outage_raises_until_it_is_lifted(
        self, sandbox: Running
    ) -> None:
        sender = providers(sandbox, retries=2)
        async with httpx.AsyncClient() as client:
            await client.post(f"{sandbox.http}/v1/control", json={"fail_next": 2})
            await sender.send(sms("planned-1"))  # third try goes through
            await client.post(f"{sandbox.http}/v1/control", json={"down": True})
            with pytest.raises(ProviderError) as raised:
                await sender.send(sms("planned-2"))
            assert not raised.value.final
            await client.post(f"{sandbox.http}/v1/control", json={"down": False})
            await sender.send(sms("planned-2"))
            await sender.close()
            messages = (await client.get(f"{sandbox.http}/v1/messages")).json()["items"]
            requests = (await client.get(f"{sandbox.http}/v1/requests")).json()["items"]
        assert [m["idempotency_key"] for m in messages] == ["planned-1", "planned-2"]
        assert [r["accepted"] for r in requests] == [False, False, True, False, False, False, True]

    async def test_mail_is_recorded_under_its_message_id_with_subject_and_language(
        self, sandbox: Running
    ) -> None:
        sender = providers(sandbox)
        mail = OutboundMessage(
            Channel.EMAIL, "debtor@example.com", "Your payment is overdue.", "en", "planned-7", "Reminder"
        )
        await sender.send(mail)
        await sender.close()
        async with httpx.AsyncClient() as client:
            messages = (await client.get(f"{sandbox.http}/v1/messages", params={"channel": "email"})).json()
        (item,) = messages["items"]
        assert item["idempotency_key"] == "planned-7@contact.collections"
        assert (item["to"], item["subject"], item["language"]) == ("debtor@example.com", "Reminder", "en")
        assert item["body"].strip() == "Your payment is overdue."


PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def letter(letter_id: str, pdf: bytes = PDF) -> OutgoingLetter:
    address = {
        "line1": "人民路12号",
        "city": "上海",
        "region": "SH",
        "postal_code": "200001",
        "country": "CN",
    }
    return OutgoingLetter(letter_id, "zh-CN", "王伟", address, pdf)


def letter_provider(sandbox: Running) -> LetterProvider:
    return LetterProvider(sandbox.http, timeout_seconds=5, retries=2, backoff_seconds=0.01)


class TestLetterSandbox:
    async def test_a_letter_posted_twice_is_recorded_once_with_its_pdf(self, sandbox: Running) -> None:
        provider = letter_provider(sandbox)
        first = await provider.send(letter("L-1"))
        again = await provider.send(letter("L-1"))
        await provider.send(letter("L-2"))
        await provider.close()
        async with httpx.AsyncClient(base_url=sandbox.http) as client:
            letters = (await client.get("/v1/letters")).json()["items"]
            pdf = await client.get("/v1/letters/L-1.pdf")
            requests = (await client.get("/v1/requests")).json()["items"]
        assert first == again == "letter-L-1"
        assert [item["idempotency_key"] for item in letters] == ["L-1", "L-2"]
        assert (letters[0]["channel"], letters[0]["to"], letters[0]["language"]) == (
            "letter",
            "王伟",
            "zh-CN",
        )
        assert letters[0]["body"] == "人民路12号, 上海, SH, 200001, CN"
        assert letters[0]["pdf_bytes"] == len(PDF)
        assert pdf.headers["content-type"] == "application/pdf" and pdf.content == PDF
        assert [r["duplicate"] for r in requests] == [False, True, False]

    async def test_an_outage_is_retried_and_a_document_that_is_not_a_pdf_is_refused(
        self, sandbox: Running
    ) -> None:
        provider = letter_provider(sandbox)
        async with httpx.AsyncClient(base_url=sandbox.http) as client:
            await client.post("/v1/control", json={"fail_next": 2})
            await provider.send(letter("L-1"))  # third try goes through
            with pytest.raises(LetterRefused):
                await provider.send(letter("L-2", pdf=b"<html>not a pdf</html>"))
            await provider.close()
            letters = (await client.get("/v1/letters")).json()["items"]
            missing = await client.get("/v1/letters/L-2.pdf")
        assert [item["idempotency_key"] for item in letters] == ["L-1"]
        assert missing.status_code == 404

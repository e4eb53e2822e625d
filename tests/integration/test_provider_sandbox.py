"""The contact service's channel providers against the provider sandbox (its real process)."""

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

"""No record stops either of the contact worker's consumers (``bootstrap.STAGE_CHANGES`` and
``OTHER_INPUTS``): hostile records, interleaved with valid events on both consumers' topics, fed
through the real broker to the real worker process.

Each bad record ends on its topic's ``.dlq`` (through the outbox) with its own key, value and
headers and a ``dlq-reason`` naming what is wrong; every valid event, before and after them, is
applied; the stored positions move past them all; the worker stays ready.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from devstack.stack import Stack
from tests.auth_tokens import StaffTokens
from tests.contact_harness import event, opened, payment_posted, stage_changed
from tests.e2e.aging_harness import Headers, dead_letters, end_offsets, header, until
from tests.e2e.contact_stack import ContactUnderTest

pytestmark = [pytest.mark.infra, pytest.mark.slow]

DELINQUENCY = "collections.delinquency.v1"  # the STAGE_CHANGES consumer
ACCOUNTS = "corebank.accounts.v1"  # the OTHER_INPUTS consumer, with PAYMENTS and CALENDAR
PAYMENTS = "corebank.payments.v1"
CALENDAR = "corebank.calendar.v1"
ODD_HEADERS: Headers = [
    ("dlq-reason", b"forged by the sender"),  # a dead letter's own header: the runtime's wins
    ("", b""),
    ("trace", b"1"),
    ("trace", b"2"),
    ("bytes", b"\x00\xff\xfe"),
    ("null", None),
]


def raw(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def with_data(body: dict[str, Any], **data: Any) -> bytes:
    """``body`` with some of its ``data`` replaced."""
    return raw({**body, "data": {**body["data"], **data}})


@pytest.fixture
def contact(stack: Stack, tmp_path: Path) -> Iterator[ContactUnderTest]:
    namespace = f"t{uuid.uuid4().hex[:10]}"
    stack.apply_topics(prefix=f"{namespace}.")
    logs = tmp_path
    service = ContactUnderTest(
        stack, namespace, f"{namespace}.", logs, StaffTokens(logs / "jwks.json"), {"SENDER_ENABLED": "false"}
    ).start(api=False)
    try:
        yield service
    finally:
        service.stop()


async def test_hostile_records_on_both_consumers_are_dead_letters_and_the_valid_ones_apply(
    contact: ContactUnderTest,
) -> None:
    accounts = [opened("A1", "C1"), opened("A2", "C2")]
    await contact.publish(*accounts)
    await contact.applied(*accounts)

    to_m1 = stage_changed("A1", "C1", "M1")
    to_m2 = stage_changed("A1", "C1", "M2", from_stage="M1", dpd=35, as_of="2026-03-31")
    a2_to_m1 = stage_changed("A2", "C2", "M1")
    paid = payment_posted("A1", "P1", 150_000, "2026-03-03")
    unkeyed_payment = payment_posted("A2", "P2", 20_000, "2026-03-04")
    odd_payment = payment_posted("A2", "P3", 30_000, "2026-03-05")
    stage = stage_changed("A2", "C2", "M1")
    payment = payment_posted("A1", "P-BAD", 100, "2026-03-03")
    long_texts = event(
        "corebank.account.updated",
        {"account_id": "A2", "holder": {"language": "x" * 5_000}, "risk": {"signals": ["s" * 300]}},
    )
    # (topic, key, value, headers, the dead letter's reason, or None for a valid event)
    records: list[tuple[str, bytes | None, bytes, Headers, str | None]] = [
        (DELINQUENCY, b"A1", b"not json", [], "not JSON: Expecting value: line 1 column 1 (char 0)"),
        (PAYMENTS, b"A1", b"\xff\xfe{}", [], "not JSON: not UTF-8 (invalid start byte at byte 0)"),
        (DELINQUENCY, b"A1", raw(to_m1), [], None),
        (PAYMENTS, b"A1", b"[1, 2]", [], "not a CloudEvent: expected a JSON object, got array"),
        (DELINQUENCY, b"A1", b'{"id": "x"}', [], "not a CloudEvent: missing 'specversion'"),
        (PAYMENTS, b"A1", raw(paid), [], None),
        (
            ACCOUNTS,
            b"A1",
            raw(event("corebank.account.renamed", {"account_id": "A1"})),
            [],
            "unknown type 'corebank.account.renamed'",
        ),
        (
            DELINQUENCY,
            b"A1",
            raw(event("collections.stage.skipped", {"account_id": "A1"})),
            [],
            "unknown type 'collections.stage.skipped'",
        ),
        (
            DELINQUENCY,
            b"A1",
            raw(payment),
            [],
            "type 'corebank.payment.posted' does not belong on topic 'collections.delinquency.v1'"
            " (it goes on 'corebank.payments.v1')",
        ),
        (
            PAYMENTS,
            b"A1",
            with_data(payment, amount_minor=-100),
            [],
            "data.amount_minor: Input should be greater than or equal to 1",
        ),
        (
            PAYMENTS,
            b"A1",
            with_data(payment, value_date="2026-02-30"),
            [],
            "data.value_date: Input should be a valid calendar date: day is out of range for month",
        ),
        (
            CALENDAR,
            b"calendar",
            raw(event("corebank.business-day.closed", {"business_date": "someday"})),
            [],
            "data.business_date: Input should be a date in YYYY-MM-DD format",
        ),
        (
            DELINQUENCY,
            b"A2",
            with_data(stage, to_stage="M9"),
            [],
            "a stage change to a stage the contact service does not know",
        ),
        (
            DELINQUENCY,
            b"A2",
            with_data(stage, as_of="2026-13-01"),
            [],
            "data.as_of: Input should be a valid calendar date: month must be in 1..12",
        ),
        # Valid: it names no debtor and A9 is not opened, so it waits for the opening (no dead letter).
        (DELINQUENCY, b"A9", with_data(stage_changed("A9", "C9", "M1"), customer_id=None), [], None),
        (
            ACCOUNTS,
            b"A9",
            raw(event("corebank.account.updated", {"account_id": "A9"})),
            [],
            "account.updated of an account the contact service never saw opened",
        ),
        (
            DELINQUENCY,
            None,
            b"{",
            [],  # no key
            "not JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
        (PAYMENTS, None, raw(unkeyed_payment), [], None),  # valid, no key
        (DELINQUENCY, b"A2", b"\x00", ODD_HEADERS, "not JSON: Expecting value: line 1 column 1 (char 0)"),
        (PAYMENTS, b"A2", raw(odd_payment), ODD_HEADERS, None),  # valid, odd headers
        (DELINQUENCY, None, raw(a2_to_m1), ODD_HEADERS, None),  # valid, no key, odd headers
        (
            ACCOUNTS,
            b"A3",
            raw(opened("A3", "C3", email="li\x00@example.com")),
            [],
            "data.holder.email: text should not contain a NUL character (stored text cannot hold one)",
        ),
        (
            ACCOUNTS,
            b"A3",
            raw(opened("A3", "C3", email="li@" + "b" * 300 + ".cn")),
            [],
            "data.holder.email: Input should be an e-mail address: local@domain, without spaces or control"
            " characters, the local part at most 64 characters and the whole at most 254 (RFC 5321)",
        ),
        # Valid: the contract bounds neither a language nor a risk signal.
        (ACCOUNTS, b"A2", raw(long_texts), [], None),
        (DELINQUENCY, b"A1", raw(to_m2), [], None),  # the last of them all
    ]
    expected: dict[tuple[str, int, int], tuple[bytes | None, bytes, Headers, str]] = {}
    producer = AIOKafkaProducer(bootstrap_servers=contact.stack.bootstrap_servers)
    await producer.start()
    try:
        for topic, key, value, headers, reason in records:
            sent = await producer.send_and_wait(
                contact.prefix + topic, value, key=key, headers=list(headers) or None
            )
            if reason is not None:
                expected[(topic, sent.partition, sent.offset)] = (key, value, headers, reason)
    finally:
        await producer.stop()

    async def stage_of(customer: str) -> str | None:
        found = await contact.fetch("SELECT stage FROM cases WHERE customer_id = $1", customer)
        return found[0]["stage"] if found else None

    async def all_applied() -> bool:
        return await stage_of("C1") == "M2" and await stage_of("C2") == "M1"

    await until(all_applied, what="the stage changes behind the bad records applied", timeout=60)
    await contact.applied(to_m1, to_m2, a2_to_m1, paid, unkeyed_payment, odd_payment)
    await contact.applied(long_texts)
    profile = await contact.fetch("SELECT language, signals FROM cases WHERE customer_id = 'C2'")
    assert [(len(r["language"]), [len(s) for s in r["signals"]]) for r in profile] == [(5_000, [300])]
    assert await contact.fetch("SELECT customer_id FROM cases WHERE customer_id = 'C3'") == []
    waiting = await contact.fetch("SELECT account_id FROM waiting_stage_changes")
    assert [r["account_id"] for r in waiting] == ["A9"]
    assert sorted(r["payment_id"] for r in await contact.fetch("SELECT payment_id FROM payments")) == [
        "P1",
        "P2",
        "P3",
    ]

    # The stored positions are past every record of every input, bad ones included.
    inputs = (DELINQUENCY, ACCOUNTS, PAYMENTS, CALENDAR)
    ends = await end_offsets(contact.stack, [contact.prefix + topic for topic in inputs])
    positions = {
        (contact.prefix + r["topic"], r["partition"]): r["next_offset"]
        for r in await contact.fetch("SELECT topic, partition, next_offset FROM consumer_positions")
    }
    assert {tp: positions.get(tp, 0) for tp in ends} == ends

    # Each bad record is a dead letter on its topic's .dlq, as it was sent, with its reason.
    async def relayed() -> bool:
        unsent = await contact.fetch("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL")
        return bool(unsent[0]["n"] == 0)

    await until(relayed, what="the outbox published", timeout=30)
    found: dict[tuple[str, int, int], tuple[bytes | None, bytes, Headers, str]] = {}
    for topic in inputs:
        for headers, key, value in await dead_letters(contact.stack, contact.prefix + topic + ".dlq"):
            assert header(headers, "dlq-source-topic") == topic
            assert header(headers, "dlq-consumer") == "collections-contact"
            own = [(name, value) for name, value in headers if not name.startswith("dlq-")]
            reasons = [value for name, value in headers if name == "dlq-reason"]
            assert len(reasons) == 1, headers  # the sender's forged one is not kept
            source = (
                topic,
                int(header(headers, "dlq-source-partition")),
                int(header(headers, "dlq-source-offset")),
            )
            found[source] = (key, value, own, header(headers, "dlq-reason"))
    assert found == {
        source: (key, value, [(n, v or b"") for n, v in headers if not n.startswith("dlq-")], reason)
        for source, (key, value, headers, reason) in expected.items()
    }

    worker = contact.processes[0]
    assert worker.alive, worker.output()[-3000:]
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"http://127.0.0.1:{contact.worker_port}/readyz")).status_code == 200

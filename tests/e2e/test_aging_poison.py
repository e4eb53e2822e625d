"""No record stops the aging worker: the records known to have killed it, and a generated corpus
of arbitrary bytes, headers and keys, fed through the real broker to the real worker process.

Each bad record ends on its topic's ``.dlq`` with a reason naming the rule (no SQL, no values);
each valid one is applied, and the good records behind them all are applied too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.producer import message_accumulator
from aiokafka.producer import producer as producer_module
from aiokafka.record.default_records import _DefaultRecordBatchBuilderPy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collections_common.runtime import MAX_DEAD_LETTER_VALUE
from devstack.stack import Stack
from tests.e2e.aging_harness import AgingUnderTest, Headers, dead_letters, end_offsets, header, until

pytestmark = [pytest.mark.infra, pytest.mark.slow]

ACCOUNT = "ACC-POISON"
BILLING = "corebank.billing.v1"
PAYMENTS = "corebank.payments.v1"
CALENDAR = "corebank.calendar.v1"


def _event(type_: str, data: dict[str, Any], event_id: str) -> dict[str, Any]:
    return {"specversion": "1.0", "id": event_id, "source": "corebank", "type": type_, "data": data}


def _statement(statement_id: str, *, due: str = "2026-01-25", minimum: int = 100, **data: Any) -> bytes:
    body = {
        "account_id": ACCOUNT,
        "statement_id": statement_id,
        "statement_date": "2026-01-05",
        "due_date": due,
        "statement_balance_minor": minimum,
        "minimum_due_minor": minimum,
        "currency": "CNY",
        **data,
    }
    return json.dumps(_event("corebank.statement.issued", body, f"ev-{statement_id}-{minimum}")).encode()


def _close(day: str) -> bytes:
    return json.dumps(_event("corebank.business-day.closed", {"business_date": day}, f"close-{day}")).encode()


class _RawName(str):
    """A header name whose bytes on the wire are not UTF-8 (the pure-Python record builder asks
    the name to encode itself)."""

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return b"\xff\xfename"


@contextmanager
def _python_record_builder() -> Iterator[None]:
    """Build record batches in Python, so a header name can carry bytes that are not UTF-8."""
    modules = (message_accumulator, producer_module)
    originals = [module.DefaultRecordBatchBuilder for module in modules]
    for module in modules:
        module.DefaultRecordBatchBuilder = _DefaultRecordBatchBuilderPy  # type: ignore[misc]
    try:
        yield
    finally:
        for module, original in zip(modules, originals, strict=True):
            module.DefaultRecordBatchBuilder = original  # type: ignore[misc]


# -- the generated corpus ---------------------------------------------------------------------
_records = st.tuples(
    st.one_of(st.none(), st.binary(max_size=64)),  # key
    st.binary(max_size=2048),  # value: any bytes
    st.lists(st.tuples(st.text(max_size=12), st.one_of(st.none(), st.binary(max_size=32))), max_size=4),
)


def _corpus(size: int) -> list[tuple[bytes | None, bytes, Headers]]:
    drawn: list[tuple[bytes | None, bytes, Headers]] = []

    @settings(max_examples=size, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_records)
    def draw(record: tuple[bytes | None, bytes, Headers]) -> None:
        drawn.append(record)

    draw()
    return drawn


# -- the broker ---------------------------------------------------------------------------------
async def _send(
    producer: AIOKafkaProducer, topic: str, value: bytes, *, key: bytes | None, headers: Headers = ()
) -> None:
    await producer.send_and_wait(topic, value, key=key, headers=list(headers) or None)


@pytest.fixture
def aging(stack: Stack, topics: str, namespace: str, tmp_path: Path) -> Iterator[AgingUnderTest]:
    service = AgingUnderTest(stack, namespace, topics, tmp_path).start()
    try:
        yield service
    finally:
        service.stop()


async def test_no_record_stops_the_worker_and_each_bad_one_is_a_dead_letter(aging: AgingUnderTest) -> None:
    prefix, key = aging.prefix, ACCOUNT.encode()
    corpus = _corpus(25)
    megabyte = b"\xfe" * 1_000_000
    too_big = _statement("S-HUGE", minimum=2**62)
    producer = AIOKafkaProducer(bootstrap_servers=aging.stack.bootstrap_servers, max_request_size=2**21)
    await producer.start()
    try:
        bad_billing = [
            (b"not json", [("trace", b"a\x00b\xff")]),  # a header value holding NUL
            (megabyte, []),  # its dead letter would exceed the broker's request size
            (too_big, []),
            (_statement("S-HUGE2", minimum=2**62), []),
            (_statement("S-NUL\x00"), []),
            (_statement("S-2P63", minimum=2**63), []),
        ]
        good_billing: list[tuple[bytes, Headers]] = [
            (_statement("S-1"), [("null-value", None)]),  # valid, with a header whose value is null
            (_statement("S-MAX", due="9999-12-31", minimum=7), []),  # valid, due on the last date
        ]
        for value, headers in bad_billing[:2] + good_billing + bad_billing[2:]:
            await _send(producer, prefix + BILLING, value, key=key, headers=headers)
        await _send(producer, prefix + BILLING, _statement("S-1", minimum=200), key=key)  # conflicting resend
        for corpus_key, value, headers in corpus:
            await _send(producer, prefix + PAYMENTS, value, key=corpus_key, headers=headers)
        await _send(producer, prefix + CALENDAR, _close("9999-12-31"), key=b"calendar")
    finally:
        await producer.stop()
    with _python_record_builder():  # valid, with a header name that is not UTF-8
        raw = AIOKafkaProducer(bootstrap_servers=aging.stack.bootstrap_servers)
        await raw.start()
        try:
            await _send(
                raw,
                prefix + BILLING,
                _statement("S-RAWKEY", minimum=0),
                key=key,
                headers=[(_RawName(), b"v")],
            )
        finally:
            await raw.stop()
    producer = AIOKafkaProducer(bootstrap_servers=aging.stack.bootstrap_servers)
    await producer.start()
    try:  # the good records behind them all: a close that makes S-1 eight days past due
        await _send(producer, prefix + CALENDAR, _close("2026-02-01"), key=b"calendar")
    finally:
        await producer.stop()

    async with httpx.AsyncClient(base_url=aging.api) as client:

        async def applied() -> bool:
            response = await client.get(f"/v1/accounts/{ACCOUNT}/delinquency")
            return response.status_code == 200 and response.json()["as_of"] == "2026-02-02"

        await until(applied, what="the close behind the bad records applied", timeout=60)
        body = (await client.get(f"/v1/accounts/{ACCOUNT}/delinquency")).json()
        assert (body["stage"], body["dpd"], body["past_due_minor"]) == ("M1", 8, 100)
        assert sorted(due["statement_id"] for due in body["dues"]) == ["S-1", "S-MAX", "S-RAWKEY"]
        assert (await client.get("/v1/accounts/%00/delinquency")).status_code < 500

    worker = aging.processes[0]
    assert worker.alive, worker.output()
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"http://127.0.0.1:{aging.worker_port}/readyz")).status_code == 200

    async def dead_lettered(topic: str, count: int) -> bool:
        return (
            sum(end for end in (await end_offsets(aging.stack, [prefix + topic + ".dlq"])).values()) >= count
        )

    await until(lambda: dead_lettered(BILLING, len(bad_billing) + 1), what="billing dead letters", timeout=30)
    await until(lambda: dead_lettered(PAYMENTS, len(corpus)), what="payments dead letters", timeout=30)
    await until(lambda: dead_lettered(CALENDAR, 1), what="calendar dead letter", timeout=30)

    billing = await dead_letters(aging.stack, prefix + BILLING + ".dlq")
    assert len(billing) == len(bad_billing) + 1
    reasons = [header(headers, "dlq-reason") for headers, _, _ in billing]
    for reason in reasons:
        assert "SQL" not in reason and "parameters" not in reason and "200" not in reason, reason
    nul_header, big, *rest = billing
    assert nul_header[2] == b"not json" and ("trace", b"a\x00b\xff") in nul_header[0]
    assert big[2] == megabyte[:MAX_DEAD_LETTER_VALUE]
    sha = hashlib.sha256(megabyte).hexdigest()
    assert header(big[0], "dlq-value-truncated") == f"size={len(megabyte)} sha256={sha}"
    assert [value for _, _, value in rest] == [value for value, _ in bad_billing[2:]] + [
        _statement("S-1", minimum=200)
    ]
    assert reasons[-1] == "statement: same statement_id recorded with different content"

    payments = await dead_letters(aging.stack, prefix + PAYMENTS + ".dlq")
    assert sorted(value for _, _, value in payments) == sorted(value for _, value, _ in corpus)
    calendar = await dead_letters(aging.stack, prefix + CALENDAR + ".dlq")
    assert [value for _, _, value in calendar] == [_close("9999-12-31")]
    assert header(calendar[0][0], "dlq-reason").endswith("a close must have a next day (not 9999-12-31)")

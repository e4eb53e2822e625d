"""Poison messages: bad input goes to the dead-letter topic with its reason and origin, and the
partition keeps moving (the next good message behind it is applied)."""

from __future__ import annotations

import json

import pytest

from tests.runtime.harness import (
    DLQ,
    INPUT,
    Ledger,
    Payment,
    assert_output_matches,
    produce,
    read_all,
    read_output,
)
from tests.runtime.ledger_service import CONSUMER_NAME, POISON_CHANNEL, POISON_REASON

pytestmark = [pytest.mark.infra, pytest.mark.slow]


def _with_negative_amount(payment: Payment) -> bytes:
    body = json.loads(payment.encode())
    body["data"]["amount_minor"] = -5
    return json.dumps(body).encode()


async def test_invalid_and_rejected_payments_are_dead_lettered_and_the_partition_goes_on(
    ledger: Ledger,
) -> None:
    """On one partition: a good payment, one failing validation (``amount_minor: -5``), bytes that
    are not JSON, one the handler rejects (channel ``poison``), another good payment. The three bad
    ones land on ``corebank.payments.v1.dlq`` unchanged, each with ``dlq-reason`` saying why and
    ``dlq-source-*`` saying where it came from; both good ones are applied and cause their event.
    Only the good ones are recorded as processed, so a dead letter can be replayed."""
    account = "ACC-POISON"
    first = Payment("pay-good-1", account, 100)
    invalid = Payment("pay-negative", account, 1)
    rejected = Payment("pay-poison", account, 40, channel=POISON_CHANNEL)
    second = Payment("pay-good-2", account, 250)
    key = account.encode()
    records = [
        (key, first.encode()),
        (key, _with_negative_amount(invalid)),
        (key, b"{this is not json"),
        (key, rejected.encode()),
        (key, second.encode()),
    ]
    sent = await produce(ledger.bootstrap, f"{ledger.prefix}{INPUT}", records)
    partition = sent[0].partition
    assert {metadata.partition for metadata in sent} == {partition}

    worker = ledger.start_worker()
    final = await ledger.wait_until_drained(worker=worker, timeout=60)
    assert await worker.stop_gracefully() == 0

    assert final.applied == {first.id: 1, second.id: 1}, "the good payment behind the bad ones is applied"
    assert final.balances == {account: first.amount + second.amount}
    assert final.positions[partition] == sent[-1].offset + 1
    assert final.processed == {first.id, second.id}, (
        "the event the handler rejected is not recorded as processed: replayed from the DLQ, it is applied"
    )
    assert_output_matches(await read_output(ledger.bootstrap, ledger.prefix), [first, second])

    letters = await read_all(ledger.bootstrap, f"{ledger.prefix}{DLQ}")
    assert [(letter.key, letter.value) for letter in letters] == [records[i] for i in (1, 2, 3)]
    headers = [{name: value.decode() for name, value in letter.headers} for letter in letters]
    reasons = [h["dlq-reason"] for h in headers]
    assert "data.amount_minor" in reasons[0] and "greater than or equal to 1" in reasons[0], reasons[0]
    assert reasons[1].startswith("not JSON"), reasons[1]
    assert reasons[2] == POISON_REASON
    for h, metadata in zip(headers, sent[1:4], strict=True):
        assert h["dlq-source-topic"] == INPUT
        assert h["dlq-source-partition"] == str(metadata.partition)
        assert h["dlq-source-offset"] == str(metadata.offset)
        assert h["dlq-consumer"] == CONSUMER_NAME
        assert h["dlq-failed-at"]

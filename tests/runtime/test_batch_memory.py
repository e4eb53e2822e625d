"""A batch of several steps holds one step's decoded events at a time: each step's events are
freed once it is handled, before the next step's are decoded (a catch-up passing days of closes
in one transaction would otherwise keep every event it read until the commit)."""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import Mapping, Sequence

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from collections_common.database import create_engine
from collections_common.runtime import Batch, Incoming, OutboxRelay, Step, SteppingGate
from tests.runtime.harness import (
    DLQ,
    INPUT,
    Ledger,
    Payment,
    applying_in_process,
    payments,
    produce,
    produce_payments,
    read_all,
    read_state,
)
from tests.runtime.ledger_service import POISON_CHANNEL, POISON_REASON, handle

pytestmark = [pytest.mark.infra]

_TRANSACTION = text("SELECT txid_current()")

SPLIT_AT = 5
"""Every poll's records are split at this offset of each partition: those before it are a first
step, the others a second."""


class TwoStepGate:
    """Holds nothing; splits the records in hand at ``SPLIT_AT`` of every partition."""

    def hold_from(self, topic: str, partition: int) -> int | None:
        return None

    async def close(self) -> None:
        pass

    async def tick(self, session: AsyncSession, assigned: Sequence[tuple[str, int]]) -> None:
        pass

    def plan(self, reach: Mapping[tuple[str, int], int]) -> Sequence[Step]:
        return [Step(dict.fromkeys(reach, SPLIT_AT)), Step({})]


async def test_a_steps_events_are_freed_before_the_next_step_is_handled(ledger: Ledger) -> None:
    gate = TwoStepGate()
    assert isinstance(gate, SteppingGate)
    handled: list[tuple[int, list[weakref.ref[Incoming]]]] = []  # per step: its transaction, its events
    alive_at_next_step: list[int] = []  # per step after the first of a batch: earlier steps' events alive

    async def recording(batch: Batch) -> None:
        transaction = int(await batch.session.scalar(_TRANSACTION))
        earlier = [ref for step_of, refs in handled if step_of == transaction for ref in refs]
        if earlier:
            alive_at_next_step.append(sum(ref() is not None for ref in earlier))
        handled.append((transaction, [weakref.ref(incoming) for incoming in batch.events]))
        await handle(batch)

    sent = payments(60, accounts=4)
    await produce_payments(ledger.bootstrap, ledger.prefix + INPUT, sent)
    async with applying_in_process(ledger, recording, len(sent), gate=gate):
        pass

    assert alive_at_next_step, "some batch had records on both sides of the split"
    assert alive_at_next_step == [0] * len(alive_at_next_step), (
        "an earlier step's events were freed before the next step was handled"
    )


async def test_bad_records_on_both_sides_of_a_step_are_dead_lettered_and_the_good_ones_applied(
    ledger: Ledger,
) -> None:
    """One partition, published at once before the consumer starts, bad input on both sides of
    the split: bytes that are not JSON, not UTF-8, a JSON array, a payment failing validation, one
    the handler refuses, and 200 KB of noise. Each lands on the DLQ with its own reason; every
    good payment is applied; the partition's position passes the last record."""
    account = "ACC-STEPS"
    key = account.encode()

    def good(n: int) -> bytes:
        return Payment(f"pay-step-{n}", account, 10 + n).encode()

    negative = json.loads(good(99))
    negative["data"]["amount_minor"] = -1
    records = [
        (key, good(0)),
        (key, b"{this is not json"),
        (key, json.dumps(negative).encode()),
        (key, good(3)),
        (key, Payment("pay-step-poison-4", account, 1, channel=POISON_CHANNEL).encode()),
        (key, good(5)),  # offset SPLIT_AT: the second step starts here
        (key, b"\xff\xfe\x00 not utf-8"),
        (key, b"[1, 2, 3]"),
        (key, Payment("pay-step-poison-8", account, 1, channel=POISON_CHANNEL).encode()),
        (key, b"x" * 200_000),
        (key, good(10)),
    ]
    sent = await produce(ledger.bootstrap, ledger.prefix + INPUT, records)
    assert [m.offset for m in sent] == list(range(len(records))), "one fresh partition"
    bad = [1, 2, 4, 6, 7, 8, 9]

    async with applying_in_process(ledger, handle, len(records) - len(bad), gate=TwoStepGate()):
        pass
    await _relay_outbox(ledger)

    state = await read_state(ledger.database_url)
    assert sorted(state.applied) == sorted(f"pay-step-{n}" for n in (0, 3, 5, 10))
    assert state.positions == {sent[0].partition: len(records)}
    letters = {}  # by the offset each came from (the DLQ's order within a batch is not promised)
    for letter in await read_all(ledger.bootstrap, ledger.prefix + DLQ):
        headers = dict(letter.headers)
        letters[int(headers["dlq-source-offset"])] = (letter.value, headers["dlq-reason"].decode())
    assert sorted(letters) == bad
    assert all(letters[i][0] == records[i][1] for i in bad), "each dead letter is its record, unchanged"
    reasons = {offset: reason for offset, (_, reason) in letters.items()}
    assert reasons[1].startswith("not JSON") and reasons[6].startswith("not JSON: not UTF-8"), reasons
    assert "amount_minor" in reasons[2] and "expected a JSON object" in reasons[7], reasons
    assert reasons[4] == reasons[8] == POISON_REASON
    assert reasons[9].startswith("not JSON"), reasons[9]


async def _relay_outbox(ledger: Ledger) -> None:
    """Publish what the in-process consumer left in the outbox (its dead letters among them)."""
    settings = ledger.settings()
    engine = create_engine(settings, pre_ping=False)
    stop = asyncio.Event()
    relaying = asyncio.create_task(OutboxRelay(engine, settings).run(stop))
    try:
        async with asyncio.timeout(30):
            while (await read_state(ledger.database_url)).pending_outbox:
                assert not relaying.done(), "the relay stopped"
                await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.wait_for(relaying, timeout=30)
        await engine.dispose()

"""A stepping gate is ticked once per poll, first in the transaction that applies the poll's
records (after they were fetched), and not again at its end: what a batch completes is a step
of the gate's plan."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from collections_common.runtime import Batch, Step, SteppingGate
from tests.runtime.harness import INPUT, Ledger, applying_in_process, payments, produce_payments
from tests.runtime.ledger_service import handle

pytestmark = [pytest.mark.infra]

_TRANSACTION = text("SELECT txid_current()")


class RecordingGate:
    """Holds nothing and lets every record through in one step; notes the transaction of each tick."""

    def __init__(self) -> None:
        self.ticks: list[int] = []

    def hold_from(self, topic: str, partition: int) -> int | None:
        return None

    async def close(self) -> None:
        pass

    async def tick(self, session: AsyncSession, assigned: Sequence[tuple[str, int]]) -> None:
        self.ticks.append(int(await session.scalar(_TRANSACTION)))

    def plan(self, reach: Mapping[tuple[str, int], int]) -> Sequence[Step]:
        return [Step({}, None)]


async def test_a_stepping_gate_is_ticked_once_per_batch_first_in_its_transaction(ledger: Ledger) -> None:
    gate = RecordingGate()
    assert isinstance(gate, SteppingGate)
    handled: list[tuple[int, int]] = []  # per batch: its transaction, the ticks in it so far

    async def recording(batch: Batch) -> None:
        transaction = int(await batch.session.scalar(_TRANSACTION))
        handled.append((transaction, gate.ticks.count(transaction)))
        await handle(batch)

    sent = payments(60)
    await produce_payments(ledger.bootstrap, ledger.prefix + INPUT, sent)
    async with applying_in_process(ledger, recording, len(sent), gate=gate):
        pass

    assert handled, "no batch was handled"
    assert [before for _, before in handled] == [1] * len(handled), "each batch's transaction ticked first"
    assert [gate.ticks.count(transaction) for transaction, _ in handled] == [1] * len(handled), (
        "and only once: no tick at the end of the batch"
    )

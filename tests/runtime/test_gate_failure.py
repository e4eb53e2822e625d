"""A gate that fails for a reason no event is to blame for stops the runner: the batch it was
applying rolls back whole, and no event is dead-lettered for the gate's fault."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from collections_common.database import create_engine
from collections_common.runtime import ConsumerRunner, GateFailed
from tests.runtime.harness import INPUT, Ledger, payments, produce_payments, read_state
from tests.runtime.ledger_service import CONSUMER_NAME, handle

pytestmark = [pytest.mark.infra, pytest.mark.slow]


class GateBrokenInsideBatches:
    """Holds nothing; its tick fails (a bug, not an outage) once a batch's positions are stored in
    the transaction it is called in, that is, when it runs as part of a batch."""

    def __init__(self) -> None:
        self.failed = 0

    def hold_from(self, topic: str, partition: int) -> int | None:
        return None

    async def close(self) -> None:
        pass

    async def tick(self, session: AsyncSession, assigned: Sequence[tuple[str, int]]) -> None:
        stored = await session.scalar(
            text("SELECT count(*) FROM consumer_positions WHERE consumer = :c"), {"c": CONSUMER_NAME}
        )
        if stored:
            self.failed += 1
            raise ValueError("the gate's own bug")


async def test_a_gate_failing_inside_a_batch_stops_the_runner_and_blames_no_event(ledger: Ledger) -> None:
    settings = ledger.settings()
    engine = create_engine(settings, pre_ping=False)
    gate = GateBrokenInsideBatches()
    runner = ConsumerRunner(
        settings=settings, engine=engine, topics=[INPUT], handler=handle, name=CONSUMER_NAME, gate=gate
    )
    await produce_payments(ledger.bootstrap, ledger.prefix + INPUT, payments(5))
    try:
        with pytest.raises(GateFailed, match="the gate's own bug"):
            await asyncio.wait_for(runner.run(asyncio.Event()), timeout=60)
    finally:
        await engine.dispose()

    assert gate.failed == 1, "not retried event by event"
    state = await read_state(ledger.database_url)
    assert state.applied == {} and state.balances == {}, "the batch rolled back whole"
    assert state.positions == {}, "nothing was marked as consumed"
    assert state.pending_outbox == 0, "no dead letter (and no output) was written"

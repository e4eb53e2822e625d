"""A batch of several steps holds one step's decoded events at a time: each step's events are
freed once it is handled, before the next step's are decoded (a catch-up passing days of closes
in one transaction would otherwise keep every event it read until the commit)."""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from collections_common.runtime import Batch, Incoming, Step, SteppingGate
from tests.runtime.harness import Ledger, applying_in_process, payments
from tests.runtime.ledger_service import handle

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

    async with applying_in_process(ledger, recording, payments(60, accounts=4), gate=gate):
        pass

    assert alive_at_next_step, "some batch had records on both sides of the split"
    assert alive_at_next_step == [0] * len(alive_at_next_step), (
        "an earlier step's events were freed before the next step was handled"
    )

"""Records held behind a gate: a service's hook to hold a partition from an offset on.

Held records stay in memory with their partition paused, so releasing them costs no new fetch;
the consumer's position is already past them, so what it fetches after ``resume`` follows them.

A :class:`SteppingGate` also lets one batch pass the gate's conditions: it splits the records in
hand into steps, each applied in the batch's transaction before the gate's action between them
(the aging service applies every close the records in hand reach, each at its own barrier).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeAlias, runtime_checkable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncSession

from collections_common.runtime.outbox import Outbox

Record: TypeAlias = "ConsumerRecord[bytes, bytes]"
Fetched: TypeAlias = dict[TopicPartition, list[Record]]
Action: TypeAlias = Callable[[AsyncSession, Outbox], Awaitable[None]]
"""What a gate does between two steps of a batch, in the batch's transaction."""


class Gate(Protocol):
    """Lets a service hold a partition's records from an offset on until a condition is met.

    The aging service uses it for the business-day close: records published after a close wait
    until the close has been applied to their partition.
    """

    def hold_from(self, topic: str, partition: int) -> int | None:
        """The first offset of ``topic[partition]`` that may not be applied yet, or None."""

    async def tick(self, session: AsyncSession, assigned: Sequence[tuple[str, int]]) -> None:
        """Apply what became due: called before a poll's records are applied (in a transaction
        of its own, for fresh limits) and at the end of each batch's transaction (so what the
        batch completed is applied with it). A :class:`SteppingGate` is ticked once per poll
        instead, first in the transaction that applies the poll's records (see there)."""

    async def close(self) -> None:
        """Release what the gate holds (clients); called once when the runner stops."""


@dataclass(frozen=True)
class Step:
    """One step of a batch: the records below ``below`` (per logical (topic, partition); a
    partition not named has no limit) not taken by an earlier step, then ``then``."""

    below: Mapping[tuple[str, int], int]
    then: Action | None = None


@runtime_checkable
class SteppingGate(Gate, Protocol):
    """A gate that can let one batch through several of its conditions, in steps.

    The runner ticks it once per poll: first in the transaction that applies the records in
    hand, after they were fetched (in a transaction of its own when nothing is in hand), then
    asks for the plan. What a batch completes is a step of its plan, so no tick follows it.
    """

    def plan(self, reach: Mapping[tuple[str, int], int]) -> Sequence[Step]:
        """The steps of a batch whose records in hand reach, per (topic, partition), up to (not
        including) ``reach``; asked after a ``tick``. Each step's limits are at or past the
        previous step's; what the last step's limits exclude is held."""


class HeldRecords:
    """The held records (partition paused) and those released, to apply before new fetches."""

    def __init__(
        self, consumer: Callable[[], AIOKafkaConsumer | None], logical: Callable[[str], str]
    ) -> None:
        self._consumer = consumer
        self._logical = logical
        self._held: Fetched = {}
        self._ready: Fetched = {}
        self._taken: set[TopicPartition] = set()

    @property
    def has_ready(self) -> bool:
        return bool(self._ready)

    @property
    def has_held(self) -> bool:
        return bool(self._held)

    def hold(self, tp: TopicPartition, records: list[Record]) -> None:
        """Keep ``records`` (from the first one behind the gate on) and stop fetching ``tp``."""
        consumer = self._consumer()
        assert consumer is not None
        self._held[tp] = records
        consumer.pause(tp)

    def release(self, gate: Gate) -> None:
        """Move held records whose gate has opened to the records to apply next."""
        consumer = self._consumer()
        if consumer is None:
            return
        for tp, records in list(self._held.items()):
            limit = gate.hold_from(self._logical(tp.topic), tp.partition)
            if limit is None or limit > records[0].offset:
                del self._held[tp]
                self._ready[tp] = records
                if tp in consumer.assignment():
                    consumer.resume(tp)

    def take_ready(self, fetched: Fetched) -> Fetched:
        """Released records first, then what was fetched after them, partition by partition."""
        ready, self._ready = self._ready, {}
        merged = dict(ready)
        for tp, records in fetched.items():
            merged[tp] = [*merged.get(tp, []), *records]
        return merged

    def take_all(self, fetched: Fetched) -> Fetched:
        """Every record in hand: held, released, then fetched after them, partition by partition.
        Held partitions stay paused until :meth:`keep` says which are still held."""
        self._taken = set(self._held)
        held, self._held = self._held, {}
        merged = dict(held)
        for tp, records in [*self.take_ready({}).items(), *fetched.items()]:
            merged[tp] = [*merged.get(tp, []), *records]
        return merged

    def keep(self, held: Fetched) -> None:
        """Hold ``held`` after :meth:`take_all`; partitions no longer held are fetched again."""
        consumer = self._consumer()
        for tp, records in held.items():
            if records:
                self.hold(tp, records)
        for tp in self._taken - set(self._held):
            if consumer is not None and tp in consumer.assignment():
                consumer.resume(tp)
        self._taken = set()

    def forget(self, partitions: Sequence[TopicPartition]) -> None:
        """Drop held and released records of ``partitions`` (they are read again from the
        stored positions) and let the consumer fetch them."""
        consumer = self._consumer()
        for tp in partitions:
            self._held.pop(tp, None)
            self._ready.pop(tp, None)
            if consumer is not None and tp in consumer.assignment():
                consumer.resume(tp)

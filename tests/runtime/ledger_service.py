"""A tiny service that exists only to test the event runtime: ``python -m tests.runtime.ledger_service``.

It consumes ``corebank.payments.v1`` and, for every ``PaymentPosted``:

- adds the amount to its account's row in ``balances`` (``total = total + amount``: applying an
  event twice would show as a wrong total),
- counts the application in ``applied`` (one row per event id, ``times`` incremented: a second
  application would show as ``times = 2``),
- appends one ``StageChanged`` to the outbox on ``collections.delinquency.v1`` whose id is
  ``out-<input id>``, so a duplicate on the output topic can be recognised.

A payment with ``channel == "poison"`` is bad input by this handler's rules: it is rejected and
goes to the dead-letter topic. The consumer's name is fixed (``ledger-test``) so that its stored
positions and processed events do not depend on the Kafka consumer group.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from collections_common.database import create_engine
from collections_common.events import EventTypes, PaymentPosted, StageChanged, Topics, new_event
from collections_common.runtime import Batch, ConsumerRunner, delay_point
from collections_common.service import Component, ServiceDefinition, main
from collections_common.settings import ServiceSettings
from collections_common.web import create_app

CONSUMER_NAME = "ledger-test"
SOURCE = "collections/ledger-test"
POISON_CHANNEL = "poison"
POISON_REASON = "poison payment: the ledger refuses channel 'poison'"

metadata = MetaData()

balances = Table(
    "balances",
    metadata,
    Column("account_id", String(64), primary_key=True),
    Column("total", BigInteger, nullable=False),
)

applied = Table(
    "applied",
    metadata,
    Column("event_id", String(255), primary_key=True),
    Column("times", Integer, nullable=False),
)


class LedgerSettings(ServiceSettings):
    service_name: str = "ledger-test"


def outbound_id(input_id: str) -> str:
    """The id of the event a payment causes: derived from the input, so duplicates are visible."""
    return f"out-{input_id}"


async def handle(batch: Batch) -> None:
    """Apply each payment (deliberately not idempotent on its own) and emit one event per payment.

    ``COLLECTIONS_DELAY_AT=ledger.handle:SECONDS`` makes each batch take that much longer, in its
    transaction (a slow handler, or one waiting for something)."""
    await delay_point("ledger.handle")
    for incoming in batch.events:
        data = incoming.event.data
        if not isinstance(data, PaymentPosted):
            continue
        if data.channel == POISON_CHANNEL:
            batch.reject(incoming, POISON_REASON)
            continue
        add = pg_insert(balances).values(account_id=data.account_id, total=data.amount_minor)
        await batch.session.execute(
            add.on_conflict_do_update(
                index_elements=[balances.c.account_id], set_={"total": balances.c.total + add.excluded.total}
            )
        )
        count = pg_insert(applied).values(event_id=incoming.event.envelope.id, times=1)
        await batch.session.execute(
            count.on_conflict_do_update(
                index_elements=[applied.c.event_id], set_={"times": applied.c.times + 1}
            )
        )
        caused = StageChanged(
            account_id=data.account_id,
            customer_id=None,
            from_stage="M1",
            to_stage="CURRENT",
            dpd=0,
            past_due_minor=0,
            oldest_unpaid_due_date=None,
            as_of=data.value_date,
            cause="payment",
            cause_event_id=incoming.event.envelope.id,
            currency=data.currency,
        )
        event = new_event(
            EventTypes.STAGE_CHANGED,
            SOURCE,
            data.account_id,
            caused,
            id=outbound_id(incoming.event.envelope.id),
        )
        batch.outbox.add(Topics.DELINQUENCY, event, key=data.account_id)


def create_api(settings: LedgerSettings) -> FastAPI:
    return create_app(settings, engine=create_engine(settings), title="Ledger (runtime test service)")


def worker_components(settings: LedgerSettings, engine: AsyncEngine) -> list[Component]:
    return [
        ConsumerRunner(
            settings=settings, engine=engine, topics=[Topics.PAYMENTS], handler=handle, name=CONSUMER_NAME
        )
    ]


SERVICE = ServiceDefinition(
    name="ledger-test",
    settings_class=LedgerSettings,
    migrations=Path(__file__).parent / "migrations",
    create_api=create_api,
    worker_components=worker_components,
)

if __name__ == "__main__":
    raise SystemExit(main(SERVICE))

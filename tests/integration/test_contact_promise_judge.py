"""Promises are judged at their close on exactly the payments published before it, however late
the contact consumer reads them (a real broker stamping records with its clock, a real PostgreSQL).

Payments and the calendar are different topics: the consumer may read a close before a payment
core banking published ahead of it. The judge waits until the consumer's stored positions cover
every payment published before the close, and counts none published after it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from collections_common.events import validate
from collections_common.events.envelope import decode
from collections_common.runtime import Batch, Outbox
from collections_common.runtime.deliveries import Delivery, Incoming
from collections_common.runtime.positions import store_positions
from contact_service.adapters.promises import PromiseRepository, PromiseRow
from contact_service.bootstrap import SERVICE
from contact_service.domain.promises import Promise
from contact_service.handlers import handler_for
from contact_service.promise_judge import PromiseJudge
from contact_service.settings import ContactSettings
from devstack.stack import Stack
from tests.contact_harness import day_closed, payment_posted, rows

pytestmark = [pytest.mark.infra]

PAYMENTS, CALENDAR = "corebank.payments.v1", "corebank.calendar.v1"
DUE = date(2026, 3, 5)


@pytest.fixture
def settings(stack: Stack, namespace: str, topics: str) -> ContactSettings:
    database = f"{namespace}_contact"
    stack.create_database(database)
    settings = ContactSettings(
        database_url=stack.database_url(database),
        kafka_bootstrap_servers=stack.bootstrap_servers,
        kafka_topic_prefix=topics,
        promise_judge_margin_ms=1,
    )
    SERVICE.migrate(settings)
    return settings


@pytest.fixture
async def judge(settings: ContactSettings, engine: AsyncEngine) -> AsyncIterator[PromiseJudge]:
    judge = PromiseJudge(settings, engine)
    try:
        yield judge
    finally:
        await judge.clock.stop()


@pytest.fixture
async def publish(settings: ContactSettings) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


async def published(
    producer: AIOKafkaProducer, settings: ContactSettings, topic: str, body: dict[str, object], key: str
) -> Delivery:
    """Publish as core banking does and return the record as the consumer will read it."""
    value = json.dumps(body).encode()
    meta = await producer.send_and_wait(settings.topic(topic), value, key=key.encode())
    return Delivery(
        topic=topic,
        partition=meta.partition,
        offset=meta.offset,
        key=key.encode(),
        value=value,
        timestamp=meta.timestamp,
        timestamp_type=meta.timestamp_type,
    )


async def consume(engine: AsyncEngine, settings: ContactSettings, *deliveries: Delivery) -> None:
    """Apply ``deliveries`` and store the positions past them in one transaction, as the runner does."""
    incoming = [Incoming(d, validate(decode(d.value), topic=d.topic)) for d in deliveries]
    async with AsyncSession(engine) as session, session.begin():
        batch = Batch(session=session, outbox=Outbox(session), events=incoming)
        await handler_for(settings)(batch)
        await batch.outbox.flush()
        await store_positions(session, settings.consumer_group, deliveries)


async def promise(engine: AsyncEngine) -> None:
    async with AsyncSession(engine) as session, session.begin():
        await PromiseRepository(session).add(
            PromiseRow(
                promise=Promise("PTP-1", frozenset({"A1"}), 50_000, "CNY", date(2026, 3, 2), DUE),
                customer_id="C1",
                status="open",
                paid_minor=0,
                party_kind="bank",
                party_id=None,
                made_at=datetime(2026, 3, 2, 3, tzinfo=UTC),
                made_by="staff:alice",
                permit_id=None,
            )
        )


class TestThePromiseJudge:
    async def test_a_close_read_before_a_payment_published_ahead_of_it_waits_for_the_payment(
        self,
        engine: AsyncEngine,
        settings: ContactSettings,
        judge: PromiseJudge,
        publish: AIOKafkaProducer,
    ) -> None:
        await promise(engine)
        paid = await published(
            publish, settings, PAYMENTS, payment_posted("A1", "P1", 50_000, "2026-03-05"), "A1"
        )
        close = await published(publish, settings, CALENDAR, day_closed(DUE.isoformat()), "calendar")
        assert close.timestamp_type == 1, "the calendar is stamped by the broker (LogAppendTime)"

        await consume(engine, settings, close)  # the consumer reads the close first
        assert await judge.tick() == 0, "the payment published before the close is not applied yet"
        assert await rows(engine, "SELECT status FROM promises") == [("open",)]

        await consume(engine, settings, paid)
        assert await judge.tick() == 1
        assert await rows(engine, "SELECT status, paid_minor FROM promises") == [("kept", 50_000)]
        assert await judge.tick() == 0, "a close is judged once"

    async def test_a_payment_published_after_the_close_does_not_count_however_early_it_is_read(
        self,
        engine: AsyncEngine,
        settings: ContactSettings,
        judge: PromiseJudge,
        publish: AIOKafkaProducer,
    ) -> None:
        await promise(engine)
        close = await published(publish, settings, CALENDAR, day_closed(DUE.isoformat()), "calendar")
        # dated inside the promise's window, but published after its close
        late = await published(
            publish, settings, PAYMENTS, payment_posted("A1", "P1", 50_000, "2026-03-05"), "A1"
        )

        await consume(engine, settings, late)
        await consume(engine, settings, close)
        assert await judge.tick() == 1
        assert await rows(engine, "SELECT status, paid_minor FROM promises") == [("broken", 0)]

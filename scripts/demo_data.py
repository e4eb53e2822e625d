"""Publishes a small, realistic month of core banking events for `make run` (idempotent ids).

Twenty accounts get statements due 2026-01-25; some pay in full, some partly, some late, one
payment is reversed; then the days close through 2026-03-01, so stages really change. Look at
http://127.0.0.1:8001/v1/portfolio/summary and /v1/accounts/DEMO-007/delinquency afterwards.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, date, datetime, timedelta

from aiokafka import AIOKafkaProducer
from pydantic import BaseModel

from collections_common.events import (
    AccountOpened,
    BusinessDayClosed,
    EventTypes,
    PaymentPosted,
    PaymentReversed,
    StatementIssued,
    Topics,
    encode,
    new_event,
)

SOURCE = "demo/corebank"
MINIMUM = 10_000  # 100.00 CNY in fen


async def main() -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"), enable_idempotence=True
    )
    await producer.start()
    sent = 0

    async def send(topic: str, type_: str, key: str, event_id: str, data: BaseModel) -> None:
        nonlocal sent
        event = new_event(type_, SOURCE, key, data, id=event_id, time=datetime(2026, 1, 1, tzinfo=UTC))
        await producer.send_and_wait(topic, encode(event), key=key.encode())
        sent += 1

    try:
        for n in range(1, 21):
            account = f"DEMO-{n:03d}"
            await send(
                Topics.ACCOUNTS,
                EventTypes.ACCOUNT_OPENED,
                account,
                f"demo-open-{n}",
                AccountOpened.model_validate(
                    {
                        "account_id": account,
                        "customer_id": f"CUS-{n:03d}",
                        "currency": "CNY",
                        "credit_limit_minor": 5_000_000,
                        "opened_on": "2025-06-01",
                        "holder": {"name": f"Demo Holder {n}", "timezone": "Asia/Shanghai"},
                        "consents": {"sms": True, "email": True, "push": True, "autodial": n % 2 == 0},
                    }
                ),
            )
            await send(
                Topics.BILLING,
                EventTypes.STATEMENT_ISSUED,
                account,
                f"demo-stmt-{n}",
                StatementIssued(
                    account_id=account,
                    statement_id="2026-01",
                    statement_date=date(2026, 1, 5),
                    due_date=date(2026, 1, 25),
                    statement_balance_minor=5 * MINIMUM,
                    minimum_due_minor=MINIMUM,
                    currency="CNY",
                ),
            )
            if n % 4 == 0:  # pays on time
                amount, value_date = MINIMUM, date(2026, 1, 20)
            elif n % 4 == 1:  # pays part of it
                amount, value_date = MINIMUM // 2, date(2026, 1, 24)
            elif n % 4 == 2:  # pays late
                amount, value_date = MINIMUM, date(2026, 2, 10) + timedelta(days=n)
            else:
                continue  # does not pay
            await send(
                Topics.PAYMENTS,
                EventTypes.PAYMENT_POSTED,
                account,
                f"demo-pay-{n}",
                PaymentPosted(
                    account_id=account,
                    payment_id=f"P-{n}",
                    amount_minor=amount,
                    currency="CNY",
                    value_date=value_date,
                    channel="bank_transfer",
                ),
            )
        await send(
            Topics.PAYMENTS,
            EventTypes.PAYMENT_REVERSED,
            "DEMO-004",
            "demo-reverse-4",
            PaymentReversed(account_id="DEMO-004", payment_id="P-4", reason="returned by the payer's bank"),
        )
        for business_date in (date(2026, 1, 25), date(2026, 2, 5), date(2026, 2, 24), date(2026, 3, 1)):
            await send(
                Topics.CALENDAR,
                EventTypes.BUSINESS_DAY_CLOSED,
                "calendar",
                f"demo-close-{business_date}",
                BusinessDayClosed(business_date=business_date),
            )
    finally:
        await producer.stop()
    print(f"demo data: {sent} core banking events published")


if __name__ == "__main__":
    asyncio.run(main())

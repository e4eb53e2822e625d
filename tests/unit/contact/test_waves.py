"""A consumer batch is taken in runs of one event type, each partition's events in their order."""

from __future__ import annotations

import json
from typing import Any

from collections_common.events import validate
from collections_common.events.envelope import decode
from collections_common.runtime.deliveries import Delivery, Incoming
from contact_service.handlers import waves
from tests.contact_harness import TOPIC_OF, event, opened, payment_posted, stage_changed


def _incoming(body: dict[str, Any], partition: int, offset: int) -> Incoming:
    raw = json.dumps(body).encode()
    topic = TOPIC_OF[body["type"]]
    return Incoming(Delivery(topic, partition, offset, None, raw), validate(decode(raw), topic=topic))


def _names(runs: list[tuple[type, list[Incoming]]]) -> list[tuple[str, list[str]]]:
    return [(kind.__name__, [i.delivery.position for i in run]) for kind, run in runs]


class TestWaves:
    def test_the_leading_runs_of_one_type_of_every_partition_are_taken_together(self) -> None:
        batch = [
            _incoming(stage_changed("A1", "C1", "M1"), 0, 10),
            _incoming(stage_changed("A2", "C2", "M1"), 0, 11),
            _incoming(payment_posted("A1", "P1", 100, "2026-03-02"), 0, 7),
            _incoming(stage_changed("A3", "C3", "M1"), 1, 5),
            _incoming(payment_posted("A4", "P2", 100, "2026-03-02"), 3, 2),
            _incoming(opened("A5", "C5"), 2, 1),
            _incoming(event("corebank.account.updated", {"account_id": "A5"}), 2, 2),
            _incoming(opened("A6", "C6"), 2, 3),
        ]
        assert _names(list(waves(batch))) == [
            (
                "StageChanged",
                [
                    "collections.delinquency.v1[0]@10",
                    "collections.delinquency.v1[0]@11",
                    "collections.delinquency.v1[1]@5",
                ],
            ),
            ("PaymentPosted", ["corebank.payments.v1[0]@7", "corebank.payments.v1[3]@2"]),
            ("AccountOpened", ["corebank.accounts.v1[2]@1"]),
            ("AccountUpdated", ["corebank.accounts.v1[2]@2"]),
            ("AccountOpened", ["corebank.accounts.v1[2]@3"]),
        ]

    def test_a_partition_whose_events_are_listed_apart_is_taken_as_listed(self) -> None:
        batch = [
            _incoming(opened("A1", "C1"), 0, 0),
            _incoming(stage_changed("A1", "C1", "M1"), 0, 1),
            _incoming(event("corebank.account.updated", {"account_id": "A1"}), 0, 2),
            _incoming(stage_changed("A1", "C1", "M2"), 0, 3),
        ]
        assert [kind.__name__ for kind, _ in waves(batch)] == [
            "AccountOpened",
            "StageChanged",
            "AccountUpdated",
            "StageChanged",
        ]

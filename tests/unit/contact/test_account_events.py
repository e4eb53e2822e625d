"""Which account events of a batch can be applied, and to which debtor (pure); the rounds a
set-wise batch writes in."""

from __future__ import annotations

import json
from typing import Any

from collections_common.events import validate
from collections_common.events.envelope import decode
from collections_common.runtime.deliveries import Delivery, Incoming
from contact_service.account_events import NEVER_OPENED, UNKNOWN_TIMEZONE, accepted
from contact_service.rounds import in_rounds
from tests.contact_harness import event, opened


def _incomings(*bodies: dict[str, Any]) -> list[Incoming]:
    found = []
    for offset, body in enumerate(bodies):
        raw = json.dumps(body).encode()
        delivery = Delivery("corebank.accounts.v1", 0, offset, None, raw)
        found.append(Incoming(delivery, validate(decode(raw), topic="corebank.accounts.v1")))
    return found


def _updated(account_id: str, **data: Any) -> dict[str, Any]:
    return event("corebank.account.updated", {"account_id": account_id, **data})


class TestAccepted:
    def test_an_update_finds_its_debtor_stored_or_opened_earlier_in_the_batch(self) -> None:
        events = _incomings(
            _updated("A2"),  # before its opening: never opened
            opened("A2", "C2", currency="USD"),
            _updated("A2", flags={"dispute": True}),
            _updated("A1"),  # linked before the batch
            opened("A1", "C9"),  # A1 stays C1's: the first link stays
            _updated("A1"),
        )
        applied, rejected = accepted(events, {"A1": "C1"})
        assert rejected == {0: NEVER_OPENED}
        assert [(e.customer_id, e.fact.account_id, e.opened_in) for e in applied] == [
            ("C2", "A2", "USD"),
            ("C2", "A2", None),
            ("C1", "A1", None),
            ("C9", "A1", "CNY"),
            ("C1", "A1", None),
        ]
        assert applied[1].fact.flags == {"dispute": True}

    def test_an_unknown_timezone_is_rejected_and_so_is_an_update_of_an_account_it_did_not_open(
        self,
    ) -> None:
        events = _incomings(
            opened("A1", "C1", timezone="Mars/Olympus"),
            _updated("A1", risk={"rating": "C"}),
            opened("A2", "C2"),
            _updated("A2", holder={"timezone": "Atlantis/Lost"}),
            _updated("A2", holder={"timezone": "Europe/Paris"}),
        )
        applied, rejected = accepted(events, {})
        assert rejected == {0: UNKNOWN_TIMEZONE, 1: NEVER_OPENED, 3: UNKNOWN_TIMEZONE}
        assert [e.fact.timezone for e in applied] == ["Asia/Shanghai", "Europe/Paris"]


class TestRounds:
    def test_each_key_once_per_round_and_after_the_earlier_items_sharing_a_key(self) -> None:
        items = [("C1", "A1"), ("C1", "A2"), ("C2", "A3"), ("C3", "A1"), ("C2", "A3"), ("C4", "A4")]
        rounds = in_rounds(items, lambda item: (("customer", item[0]), ("account", item[1])))
        assert rounds == [
            [("C1", "A1"), ("C2", "A3"), ("C4", "A4")],
            [("C1", "A2"), ("C3", "A1"), ("C2", "A3")],
        ]

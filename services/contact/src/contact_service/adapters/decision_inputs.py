"""What a permit decision reads about a debtor, with the debtor's lock, in one call.

A reservation reads the debtor's compliance facts (timezone, consents, unreachable, contact
points, account flags, active holds) and the allowed permits and inbound contacts in a span of
time. ``DecisionInputsRepository.lock_and_load`` takes the debtor's advisory lock and reads all of
them in one round trip: the database function ``permit_decision_inputs`` (migration 0009), whose
read takes its snapshot after the lock is granted, so it sees every decision committed before.
It builds the same domain objects as ``CaseRepository.load`` and ``PermitRepository.history``,
which take six statements. It runs on an asyncpg connection directly (``adapters/driver.py``),
which must be in a transaction: the lock is held until that transaction ends.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from contact_service.adapters.driver import require_transaction
from contact_service.domain.case import Case, Profile
from contact_service.domain.compliance import (
    ContactHistory,
    DebtorFacts,
    Hold,
    InboundContact,
    PermitRecord,
    lock_key,
)
from contact_service.domain.contact import Channel, ContactPoint, Outcome, Owner, Party, PartyKind

__all__ = ["DecisionInputs", "DecisionInputsRepository"]

_LOCK_AND_LOAD = "SELECT permit_decision_inputs($1, $2, $3, $4)"


@dataclass(frozen=True, slots=True)
class DecisionInputs:
    """The debtor's compliance facts and contact history, as a decision reads them."""

    facts: DebtorFacts
    history: ContactHistory
    exists: bool

    def within(self, start: datetime, end: datetime) -> ContactHistory:
        """The history with ``start <= at < end`` (what ``PermitRepository.history`` would return)."""
        return ContactHistory(
            permits=[p for p in self.history.permits if start <= p.at < end],
            inbound=[i for i in self.history.inbound if start <= i.at < end],
        )


class DecisionInputsRepository:
    """The one statement a reservation locks the debtor and reads its inputs with."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        """An asyncpg connection (``adapters/driver.py``)."""

    async def lock_and_load(self, customer_id: str, start: datetime, end: datetime) -> DecisionInputs:
        """Take the debtor's lock until the transaction ends; then the debtor's facts, and the
        allowed permits and inbound contacts with ``start <= at < end``."""
        require_transaction(self.driver, "the debtor's lock belongs in a transaction")
        loaded = _json(
            await self.driver.fetchval(_LOCK_AND_LOAD, customer_id, lock_key(customer_id), start, end)
        )
        case_row: dict[str, Any] | None = loaded["case"]
        profile = Profile()
        points = tuple(ContactPoint(p["value"], Owner(p["owner"]), p["source"]) for p in loaded["points"])
        if case_row is not None:
            profile = Profile(
                timezone=case_row["timezone"],
                language=case_row["language"],
                contact_points=points,
                consents=dict(case_row["consents"]),
                risk_rating=case_row["risk_rating"],
                signals=frozenset(case_row["signals"] or ()),
                as_of=_instant(case_row["profile_as_of"]),
            )
        case = Case(
            customer_id=customer_id,
            account_flags={a["account_id"]: dict(a["flags"]) for a in loaded["accounts"]},
            profile=profile,
            holds=tuple(Hold(h["reason"], _day(h["ends_on"]), _day(h["starts_on"])) for h in loaded["holds"]),
        )
        unreachable = bool(case_row["unreachable"]) if case_row is not None else False
        history = ContactHistory(
            permits=[
                PermitRecord(
                    account_id=p["account_id"],
                    channel=Channel(p["channel"]),
                    contact_point=p["contact_point"],
                    at=_utc(p["at"]),
                    expires_at=_utc(p["expires_at"]),
                    outcome=Outcome(p["outcome"]) if p["outcome"] is not None else None,
                    party=Party(PartyKind(p["party_kind"]), p["party_id"]),
                )
                for p in loaded["permits"]
            ],
            inbound=[
                InboundContact(
                    i["account_id"],
                    Channel(i["channel"]),
                    i["contact_point"],
                    _utc(i["at"]),
                    Outcome(i["outcome"]),
                )
                for i in loaded["inbound"]
            ],
        )
        return DecisionInputs(
            facts=case.compliance_facts(unreachable=unreachable), history=history, exists=case_row is not None
        )


def _json(value: Any) -> Any:
    """A JSON value as asyncpg hands it over: decoded on SQLAlchemy's connections, else text."""
    return json.loads(value) if isinstance(value, str) else value


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def _instant(value: str | None) -> datetime | None:
    return _utc(value) if value is not None else None


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value is not None else None

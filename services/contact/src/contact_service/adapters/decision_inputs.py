"""What a permit decision reads about a debtor, in one statement.

A reservation reads the debtor's compliance facts (timezone, consents, unreachable, contact
points, account flags, active holds) and the allowed permits and inbound contacts in a span of
time. ``DecisionInputsRepository.load`` reads all of them in one round trip (each part as JSON),
where ``CaseRepository.load`` and ``PermitRepository.history`` take six; it builds the same
domain objects from them. Run it after the debtor's advisory lock is taken, in the same
transaction: under READ COMMITTED its snapshot is then taken after the lock, so it sees every
decision committed before. The statement goes to the session's asyncpg connection directly
(``adapters/driver.py``), without SQLAlchemy's statement execution around it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contact_service.adapters.driver import in_transaction
from contact_service.domain.case import Case, Profile
from contact_service.domain.compliance import ContactHistory, DebtorFacts, Hold, InboundContact, PermitRecord
from contact_service.domain.contact import Channel, ContactPoint, Outcome, Owner, Party, PartyKind

__all__ = ["DecisionInputs", "DecisionInputsRepository"]

# $1 customer id, $2 start, $3 end
_LOAD = """
    SELECT
      (SELECT json_build_object(
                'timezone', c.timezone, 'language', c.language, 'consents', c.consents,
                'risk_rating', c.risk_rating, 'signals', c.signals,
                'profile_as_of', c.profile_as_of, 'unreachable', c.unreachable)
         FROM cases c WHERE c.customer_id = $1) AS case_row,
      (SELECT coalesce(json_agg(json_build_object('account_id', a.account_id, 'flags', a.flags)
                                ORDER BY a.account_id), '[]')
         FROM case_accounts a WHERE a.customer_id = $1) AS accounts,
      (SELECT coalesce(json_agg(json_build_object('value', p.value, 'owner', p.owner, 'source', p.source)
                                ORDER BY p.id), '[]')
         FROM contact_points p WHERE p.customer_id = $1) AS points,
      (SELECT coalesce(json_agg(json_build_object('reason', h.reason, 'starts_on', h.starts_on,
                                                  'ends_on', h.ends_on)
                                ORDER BY h.set_at, h.hold_id), '[]')
         FROM holds h WHERE h.customer_id = $1 AND h.ended_on IS NULL) AS holds,
      (SELECT coalesce(json_agg(json_build_object(
                'account_id', p.account_id, 'channel', p.channel, 'contact_point', p.contact_point,
                'at', p.at, 'expires_at', p.expires_at, 'outcome', p.outcome,
                'party_kind', p.party_kind, 'party_id', p.party_id)), '[]')
         FROM permits p
        WHERE p.customer_id = $1 AND p.allowed
          AND p.at >= $2::timestamptz AND p.at < $3::timestamptz) AS permits,
      (SELECT coalesce(json_agg(json_build_object(
                'account_id', i.account_id, 'channel', i.channel, 'contact_point', i.contact_point,
                'at', i.at, 'outcome', i.outcome)), '[]')
         FROM inbound_contacts i
        WHERE i.customer_id = $1 AND i.at >= $2::timestamptz AND i.at < $3::timestamptz) AS inbound
"""


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
    """The one statement a reservation reads its inputs with."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def load(self, customer_id: str, start: datetime, end: datetime) -> DecisionInputs:
        """The debtor's facts, and the allowed permits and inbound contacts with ``start <= at < end``."""
        driver = await in_transaction(self.session)
        row = await driver.fetchrow(_LOAD, customer_id, start, end)
        case_row: dict[str, Any] | None = _json(row["case_row"])
        profile = Profile()
        points = tuple(ContactPoint(p["value"], Owner(p["owner"]), p["source"]) for p in _json(row["points"]))
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
            account_flags={a["account_id"]: dict(a["flags"]) for a in _json(row["accounts"])},
            profile=profile,
            holds=tuple(
                Hold(h["reason"], _day(h["ends_on"]), _day(h["starts_on"])) for h in _json(row["holds"])
            ),
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
                for p in _json(row["permits"])
            ],
            inbound=[
                InboundContact(
                    i["account_id"],
                    Channel(i["channel"]),
                    i["contact_point"],
                    _utc(i["at"]),
                    Outcome(i["outcome"]),
                )
                for i in _json(row["inbound"])
            ],
        )
        return DecisionInputs(
            facts=case.compliance_facts(unreachable=unreachable), history=history, exists=case_row is not None
        )


def _json(value: Any) -> Any:
    """A JSON column as asyncpg hands it over (text) or already decoded."""
    return json.loads(value) if isinstance(value, str) else value


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def _instant(value: str | None) -> datetime | None:
    return _utc(value) if value is not None else None


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value is not None else None

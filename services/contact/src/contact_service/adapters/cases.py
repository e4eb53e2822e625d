"""Cases per debtor: load a domain ``Case`` from its rows and store it back."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, String, Text, and_, any_, bindparam, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from collections_common.bulk import insert_rows
from collections_common.database import session_driver
from contact_service.adapters.driver import in_transaction
from contact_service.adapters.orm import case_accounts, cases, contact_points, holds
from contact_service.domain.case import CORE_BANKING, AccountStage, Case, Profile
from contact_service.domain.compliance import Hold, account_lock_key, lock_key
from contact_service.domain.contact import ContactPoint, Owner

__all__ = ["AccountRow", "CaseRecord", "CaseRepository", "HoldRow", "customer_of"]

_CUSTOMER_OF = f"SELECT customer_id FROM {case_accounts.name} WHERE account_id = $1"


async def customer_of(driver: Any, account_id: str) -> str | None:
    """The account's debtor, read on an asyncpg connection (``adapters/driver.py``)."""
    customer: str | None = await driver.fetchval(_CUSTOMER_OF, account_id)
    return customer


@dataclass(frozen=True, slots=True)
class CaseRecord:
    """A case and what the service keeps beside the domain's view of it."""

    case: Case
    stage: str
    stage_entered_at: datetime | None
    unreachable: bool
    exists: bool
    linked: frozenset[str] = frozenset()
    """The accounts linked to the debtor's stored case with their currency known, as loaded."""


@dataclass(frozen=True, slots=True)
class AccountRow:
    """An account of a case as stored."""

    account_id: str
    currency: str | None
    stage: str | None
    dpd: int
    past_due_minor: int
    stage_as_of: date | None
    flags: dict[str, bool]


@dataclass(frozen=True, slots=True)
class HoldRow:
    """A hold as stored."""

    hold_id: str
    account_id: str
    reason: str
    starts_on: date | None
    ends_on: date
    set_by: str
    set_at: datetime
    ended_on: date | None
    ended_by: str | None


_ACCOUNTS = bindparam("accounts", type_=ARRAY(String))


class CaseRepository:
    """Every SQL statement about cases, their accounts, contact points and holds."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self, customer_id: str) -> None:
        """Serialise every decision about this debtor until the transaction ends."""
        await self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(customer_id)})

    async def customer_of(self, account_id: str) -> str | None:
        """The account's debtor (on the asyncpg connection directly: a permit's first statement)."""
        return await customer_of(await session_driver(self.session), account_id)

    async def currency_of(self, account_id: str) -> str | None:
        row = await self.session.execute(
            select(case_accounts.c.currency).where(case_accounts.c.account_id == account_id)
        )
        return row.scalar_one_or_none()

    async def link_account(self, account_id: str, customer_id: str, currency: str | None) -> None:
        """Record whose account it is (first writer wins; a currency fills in once)."""
        await self.link_accounts([(account_id, customer_id, currency)])

    async def load(self, customer_id: str) -> CaseRecord:
        row = (await self.session.execute(select(cases).where(cases.c.customer_id == customer_id))).first()
        accounts = [
            (a.account_id, a.currency, a.stage, a.dpd, a.past_due_minor, a.stage_as_of, a.flags)
            for a in await self.accounts(customer_id)
        ]
        points = await self.contact_points(customer_id)
        active = await self.holds(customer_id, active_only=True)
        return _record(
            customer_id,
            row._mapping if row is not None else None,
            accounts,
            points,
            [Hold(h.reason, h.ends_on, h.starts_on) for h in active],
        )

    async def set_unreachable(self, customer_id: str, unreachable: bool) -> None:
        await self.session.execute(
            update(cases).where(cases.c.customer_id == customer_id).values(unreachable=unreachable)
        )

    async def accounts(self, customer_id: str) -> list[AccountRow]:
        rows = await self.session.execute(
            select(case_accounts)
            .where(case_accounts.c.customer_id == customer_id)
            .order_by(case_accounts.c.account_id)
        )
        return [
            AccountRow(
                account_id=r.account_id,
                currency=r.currency,
                stage=r.stage,
                dpd=r.dpd,
                past_due_minor=r.past_due_minor,
                stage_as_of=r.stage_as_of,
                flags=dict(r.flags),
            )
            for r in rows
        ]

    async def contact_points(self, customer_id: str) -> list[ContactPoint]:
        rows = await self.session.execute(
            select(contact_points.c.value, contact_points.c.owner, contact_points.c.source)
            .where(contact_points.c.customer_id == customer_id)
            .order_by(contact_points.c.id)
        )
        return [ContactPoint(r.value, Owner(r.owner), r.source) for r in rows]

    async def add_contact_point(self, customer_id: str, point: ContactPoint, *, added_by: str | None) -> bool:
        """Add a point; False when the debtor already has it for that owner."""
        result = await self.session.execute(
            insert(contact_points)
            .values(
                customer_id=customer_id,
                value=point.value,
                owner=point.owner.value,
                source=point.source,
                added_by=added_by,
            )
            .on_conflict_do_nothing(constraint="contact_points_unique")
            .returning(contact_points.c.id)
        )
        return result.first() is not None

    async def holds(self, customer_id: str, *, active_only: bool = False) -> list[HoldRow]:
        query = select(holds).where(holds.c.customer_id == customer_id)
        if active_only:
            query = query.where(holds.c.ended_on.is_(None))
        rows = await self.session.execute(query.order_by(holds.c.set_at, holds.c.hold_id))
        return [_hold(r) for r in rows]

    async def hold(self, hold_id: str) -> HoldRow | None:
        row = (await self.session.execute(select(holds).where(holds.c.hold_id == hold_id))).first()
        return _hold(row) if row is not None else None

    async def add_hold(self, customer_id: str, row: HoldRow) -> None:
        await self.session.execute(
            insert(holds).values(
                hold_id=row.hold_id,
                customer_id=customer_id,
                account_id=row.account_id,
                reason=row.reason,
                starts_on=row.starts_on,
                ends_on=row.ends_on,
                set_by=row.set_by,
                set_at=row.set_at,
            )
        )

    async def end_hold(self, hold_id: str, ended_on: date, ended_by: str) -> None:
        await self.session.execute(
            update(holds).where(holds.c.hold_id == hold_id).values(ended_on=ended_on, ended_by=ended_by)
        )

    async def lapsed_holds(self, through: date) -> Sequence[tuple[str, HoldRow]]:
        """Active holds whose end date is before ``through``, with their debtor."""
        rows = await self.session.execute(
            select(holds).where(and_(holds.c.ended_on.is_(None), holds.c.ends_on < through)).with_for_update()
        )
        return [(r.customer_id, _hold(r)) for r in rows]

    # -- many debtors at once (a consumer batch's stage changes) ------------------------------
    async def lock_many(self, customer_ids: Collection[str]) -> None:
        """``lock`` for every debtor in one statement, in key order (two batches cannot deadlock)."""
        keys = sorted({lock_key(customer_id) for customer_id in customer_ids})
        if keys:
            await self.session.execute(_LOCK_MANY, {"keys": keys})

    async def lock_accounts(self, account_ids: Collection[str]) -> None:
        """Serialise linking these accounts to their debtor with keeping their stage changes
        until then (``stage_changes``), in one statement, in key order. Taken before any
        debtor's lock in a transaction, so that two transactions cannot deadlock."""
        keys = sorted({account_lock_key(account_id) for account_id in account_ids})
        if keys:
            await self.session.execute(_LOCK_MANY, {"keys": keys})

    async def customers_of(self, account_ids: Collection[str]) -> dict[str, str]:
        """The debtor of each of these accounts that has one, by account."""
        if not account_ids:
            return {}
        rows = await self.session.execute(
            select(case_accounts.c.account_id, case_accounts.c.customer_id).where(
                case_accounts.c.account_id == any_(_ACCOUNTS)
            ),
            {"accounts": sorted(set(account_ids))},
        )
        return {r.account_id: r.customer_id for r in rows}

    async def link_accounts(self, links: Sequence[tuple[str, str, str | None]]) -> None:
        """Record whose each (account, customer, currency) is, in order, in two statements: the
        first writer of an account wins; a currency fills in once."""
        first: dict[str, tuple[str, str | None]] = {}
        for account_id, customer_id, currency in links:
            known = first.get(account_id)
            if known is None:
                first[account_id] = (customer_id, currency)
            elif known[1] is None:  # a later link fills a missing currency, as link_account does
                first[account_id] = (known[0], currency)
        if not first:
            return
        await self.session.execute(
            _LINK_MANY,
            {
                "accounts": list(first),
                "customers": [customer for customer, _ in first.values()],
                "currencies": [currency for _, currency in first.values()],
            },
        )
        await insert_rows(
            self.session,
            cases,
            [{"customer_id": customer} for customer in dict.fromkeys(c for c, _ in first.values())],
            conflict=("customer_id",),
        )

    async def load_many(self, customer_ids: Collection[str]) -> dict[str, CaseRecord]:
        """``load`` for every debtor in one statement (``_LOAD_MANY``), by debtor; sent to the
        session's asyncpg connection directly (``adapters.driver``), in its transaction."""
        wanted = sorted(set(customer_ids))
        if not wanted:
            return {}
        driver = await in_transaction(self.session)
        return {
            r["wanted"]: _record(
                r["wanted"],
                r if r["found"] else None,
                r["accounts"],
                [ContactPoint(value, Owner(owner), source) for value, owner, source in r["points"]],
                [Hold(reason, ends_on, starts_on) for reason, ends_on, starts_on in r["holds"]],
            )
            for r in await driver.fetch(_LOAD_MANY, wanted)
        }

    async def save_profiles(self, saved: Sequence[Case], flags: Mapping[str, Mapping[str, bool]]) -> None:
        """What account events change, for many debtors (each at most once), in three statements:
        each case's profile and rolled-up stage, the flags of each account of ``flags`` (account:
        its flags), and core banking's contact points of each debtor replaced by the case's (a
        point the debtor already has for that owner stays as it is)."""
        if not saved:
            return
        await self.session.execute(
            _SAVE_PROFILES,
            {
                "customers": [case.customer_id for case in saved],
                "stages": [case.stage for case in saved],
                "timezones": [case.profile.timezone for case in saved],
                "languages": [case.profile.language for case in saved],
                "consents": [json.dumps(dict(case.profile.consents)) for case in saved],
                "ratings": [case.profile.risk_rating for case in saved],
                "signals": [json.dumps(sorted(case.profile.signals)) for case in saved],
                "as_ofs": [case.profile.as_of for case in saved],
                "accounts": list(flags),
                "flags": [json.dumps(dict(account_flags)) for account_flags in flags.values()],
            },
        )
        points = [
            (case.customer_id, point.value)
            for case in saved
            for point in case.profile.contact_points
            if point.owner is Owner.DEBTOR and point.source == CORE_BANKING
        ]
        core = {
            "owner": Owner.DEBTOR.value,
            "source": CORE_BANKING,
            "point_customers": [customer for customer, _ in points],
            "point_values": [value for _, value in points],
        }
        await self.session.execute(
            _DROP_CORE_POINTS, {"customers": [case.customer_id for case in saved], **core}
        )
        if points:
            await self.session.execute(_ADD_CORE_POINTS, core)


_LOAD_MANY = (
    "SELECT w.customer_id AS wanted, c.customer_id IS NOT NULL AS found, c.stage, c.stage_entered_at,"
    " c.timezone, c.language, c.consents, c.risk_rating, c.signals, c.profile_as_of, c.unreachable,"
    " ARRAY(SELECT ROW(a.account_id, a.currency, a.stage, a.dpd, a.past_due_minor, a.stage_as_of, a.flags)"
    f" FROM {case_accounts.name} AS a WHERE a.customer_id = w.customer_id ORDER BY a.account_id) AS accounts,"
    f" ARRAY(SELECT ROW(p.value, p.owner, p.source) FROM {contact_points.name} AS p"
    " WHERE p.customer_id = w.customer_id ORDER BY p.id) AS points,"
    f" ARRAY(SELECT ROW(h.reason, h.ends_on, h.starts_on) FROM {holds.name} AS h"
    " WHERE h.customer_id = w.customer_id AND h.ended_on IS NULL ORDER BY h.set_at, h.hold_id) AS holds"
    f" FROM unnest(CAST($1 AS varchar[])) AS w(customer_id) LEFT JOIN {cases.name} AS c"
    " ON c.customer_id = w.customer_id"
)
"""Each debtor's case row (``found`` false when it has none) with its accounts, contact points
and active holds as arrays of rows, in the orders ``load`` reads them. One array parameter: the
statement is the same for any number of debtors, so asyncpg prepares it once per connection."""

_SAVE_PROFILES = text(
    f"WITH flags AS (UPDATE {case_accounts.name} AS a SET flags = CAST(v.flags AS jsonb)"
    " FROM unnest(CAST(:accounts AS varchar[]), CAST(:flags AS text[])) AS v(account_id, flags)"
    " WHERE a.account_id = v.account_id)"
    f" INSERT INTO {cases.name}"
    " (customer_id, stage, timezone, language, consents, risk_rating, signals, profile_as_of)"
    " SELECT v.customer_id, v.stage, v.timezone, v.language, CAST(v.consents AS jsonb), v.risk_rating,"
    " ARRAY(SELECT s.signal FROM jsonb_array_elements_text(CAST(v.signals AS jsonb)) WITH ORDINALITY"
    " AS s(signal, n) ORDER BY s.n), v.profile_as_of"
    " FROM unnest(CAST(:customers AS varchar[]), CAST(:stages AS varchar[]), CAST(:timezones AS varchar[]),"
    " CAST(:languages AS varchar[]), CAST(:consents AS text[]), CAST(:ratings AS varchar[]),"
    " CAST(:signals AS text[]), CAST(:as_ofs AS timestamptz[]))"
    " AS v(customer_id, stage, timezone, language, consents, risk_rating, signals, profile_as_of)"
    " ON CONFLICT (customer_id) DO UPDATE SET stage = EXCLUDED.stage, timezone = EXCLUDED.timezone,"
    " language = EXCLUDED.language, consents = EXCLUDED.consents, risk_rating = EXCLUDED.risk_rating,"
    " signals = EXCLUDED.signals, profile_as_of = EXCLUDED.profile_as_of, updated_at = now()"
).bindparams(
    bindparam("customers", type_=ARRAY(String())),
    bindparam("stages", type_=ARRAY(String())),
    bindparam("timezones", type_=ARRAY(String())),
    bindparam("languages", type_=ARRAY(String())),
    bindparam("consents", type_=ARRAY(Text())),
    bindparam("ratings", type_=ARRAY(String())),
    bindparam("signals", type_=ARRAY(Text())),
    bindparam("as_ofs", type_=ARRAY(DateTime(timezone=True))),
    bindparam("accounts", type_=ARRAY(String())),
    bindparam("flags", type_=ARRAY(Text())),
)
"""The debtors' profiles (each case's row inserted or updated) and the accounts' flags, the two
tables in one statement (one round trip); JSON travels as text (``collections_common.bulk``)."""

_CORE_POINTS = (
    "unnest(CAST(:point_customers AS varchar[]), CAST(:point_values AS varchar[]))"
    " WITH ORDINALITY AS k(customer_id, value, n)"
)
_DROP_CORE_POINTS = text(
    f"DELETE FROM {contact_points.name} AS p WHERE p.customer_id = ANY(CAST(:customers AS varchar[]))"
    " AND p.owner = :owner AND p.source = :source"
    f" AND NOT EXISTS (SELECT FROM {_CORE_POINTS} WHERE k.customer_id = p.customer_id AND k.value = p.value)"
).bindparams(
    bindparam("customers", type_=ARRAY(String())),
    bindparam("point_customers", type_=ARRAY(String())),
    bindparam("point_values", type_=ARRAY(String())),
)
"""Core banking's points of the debtors that their cases no longer have."""
_ADD_CORE_POINTS = text(
    f"INSERT INTO {contact_points.name} (customer_id, value, owner, source)"
    f" SELECT k.customer_id, k.value, CAST(:owner AS varchar), CAST(:source AS varchar) FROM {_CORE_POINTS}"
    " ORDER BY k.n"
    " ON CONFLICT ON CONSTRAINT contact_points_unique DO NOTHING"
).bindparams(
    bindparam("point_customers", type_=ARRAY(String())),
    bindparam("point_values", type_=ARRAY(String())),
)
"""The debtors' core banking points, added in the cases' order (the order ``load`` reads them
in, by id); a point the debtor has for that owner already stays as it is."""

_LOCK_MANY = text(
    "SELECT pg_advisory_xact_lock(k)"
    " FROM (SELECT k FROM unnest(CAST(:keys AS bigint[])) AS k ORDER BY k) AS s"
).bindparams(bindparam("keys", type_=ARRAY(BigInteger())))

_LINK_MANY = text(
    f"INSERT INTO {case_accounts.name} (account_id, customer_id, currency)"
    " SELECT * FROM unnest(CAST(:accounts AS varchar[]), CAST(:customers AS varchar[]),"
    " CAST(:currencies AS varchar[]))"
    " ON CONFLICT (account_id) DO UPDATE"
    f" SET currency = coalesce({case_accounts.name}.currency, EXCLUDED.currency)"
).bindparams(
    bindparam("accounts", type_=ARRAY(String())),
    bindparam("customers", type_=ARRAY(String())),
    bindparam("currencies", type_=ARRAY(String())),
)


AccountTuple = tuple[str, str | None, str | None, int, int, date | None, dict[str, bool]]
"""An account of a case as ``_record`` takes it: id, currency, stage, dpd, past due, stage as of, flags."""


def _record(
    customer_id: str,
    row: Mapping[Any, Any] | None,
    accounts: Sequence[AccountTuple],
    points: Sequence[ContactPoint],
    active: Sequence[Hold],
) -> CaseRecord:
    """A ``CaseRecord`` from its rows (``load`` and ``load_many``): the case's row by column name."""
    profile = Profile()
    if row is not None:
        profile = Profile(
            timezone=row["timezone"],
            language=row["language"],
            contact_points=tuple(points),
            consents=dict(row["consents"]),
            risk_rating=row["risk_rating"],
            signals=frozenset(row["signals"]),
            as_of=row["profile_as_of"],
        )
    case = Case(
        customer_id=customer_id,
        accounts={
            account_id: AccountStage(stage, dpd, past_due, currency or "", as_of)
            for account_id, currency, stage, dpd, past_due, as_of, _ in accounts
            if stage is not None and as_of is not None
        },
        account_flags={account_id: dict(flags) for account_id, *_, flags in accounts},
        profile=profile,
        holds=tuple(active),
    )
    return CaseRecord(
        case=case,
        stage=row["stage"] if row is not None else case.stages[0],
        stage_entered_at=row["stage_entered_at"] if row is not None else None,
        unreachable=bool(row["unreachable"]) if row is not None else False,
        exists=row is not None,
        linked=frozenset(a[0] for a in accounts if a[1] is not None) if row is not None else frozenset(),
    )


def _hold(r: Any) -> HoldRow:
    return HoldRow(
        hold_id=r.hold_id,
        account_id=r.account_id,
        reason=r.reason,
        starts_on=r.starts_on,
        ends_on=r.ends_on,
        set_by=r.set_by,
        set_at=r.set_at,
        ended_on=r.ended_on,
        ended_by=r.ended_by,
    )

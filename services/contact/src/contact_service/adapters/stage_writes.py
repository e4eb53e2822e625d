"""A round of stage changes written in one statement (``stage_changes``).

What a round of set-wise stage changes writes besides the plans it lays out: the pending work of
the debtors it cancels (``work.cancel_pending_ctes``, the one way pending work is cancelled),
each case's rolled-up stage and each account's stage and figures, and the cures (for the KPIs),
all in one statement of data-modifying common table expressions. They write different tables
and read none of what the others write, so one statement leaves what four statements one after
another leave; it is sent to the session's asyncpg connection directly (``adapters.driver``),
inside the batch's transaction, without SQLAlchemy's statement execution.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from contact_service.adapters.driver import in_transaction
from contact_service.adapters.orm import case_accounts, cases, cures
from contact_service.adapters.work import CANCELLED_PER_DEBTOR, cancel_pending_ctes
from contact_service.domain.case import AccountStage

__all__ = ["Cure", "write_stage_changes"]


@dataclass(frozen=True, slots=True)
class Cure:
    """A cure as the contacts-per-cure KPI counts it: once per account and as-of date."""

    account_id: str
    as_of: date
    customer_id: str
    from_stage: str
    event_id: str


_WRITE = (
    f"WITH {cancel_pending_ctes('$1', '$2')},"
    f" accounts AS (UPDATE {case_accounts.name} AS a SET stage = v.stage, dpd = v.dpd,"
    " past_due_minor = v.past_due_minor, stage_as_of = v.stage_as_of"
    " FROM unnest(CAST($3 AS varchar[]), CAST($4 AS varchar[]), CAST($5 AS integer[]),"
    " CAST($6 AS bigint[]), CAST($7 AS date[])) AS v(account_id, stage, dpd, past_due_minor, stage_as_of)"
    " WHERE a.account_id = v.account_id AND a.account_id = ANY(CAST($3 AS varchar[]))),"
    f" stages AS (UPDATE {cases.name} AS c SET stage = v.stage, updated_at = now(),"
    " stage_entered_at = coalesce(v.entered, c.stage_entered_at)"
    " FROM unnest(CAST($8 AS varchar[]), CAST($9 AS varchar[]), CAST($10 AS timestamptz[]))"
    " AS v(customer_id, stage, entered)"
    " WHERE c.customer_id = v.customer_id AND c.customer_id = ANY(CAST($8 AS varchar[]))),"
    f" cured AS (INSERT INTO {cures.name} (account_id, as_of, customer_id, from_stage, event_id)"
    " SELECT * FROM unnest(CAST($11 AS varchar[]), CAST($12 AS date[]), CAST($13 AS varchar[]),"
    " CAST($14 AS varchar[]), CAST($15 AS varchar[])) ON CONFLICT (account_id, as_of) DO NOTHING)"
    f" {CANCELLED_PER_DEBTOR}"
)
"""Cancel (debtors $1 with their recorded reasons $2), save the accounts' stages ($3-$7) and the
cases' ($8-$10: an entry time, or null to keep the case's), record the cures ($11-$15); returns
how many contacts and call tasks each debtor had cancelled. The accounts and cases are also
asked for by ``= ANY`` of their keys, which lets the planner find them through their primary
keys: joined to the arrays alone, the generic plan read both tables whole to hash them
(``EXPLAIN`` at 6,000 debtors, 120 a round)."""


async def write_stage_changes(
    session: AsyncSession,
    *,
    cancelled: Mapping[str, str],
    stages: Sequence[tuple[str, str, datetime | None]],
    accounts: Sequence[tuple[str, AccountStage]],
    cured: Sequence[Cure],
) -> dict[str, int]:
    """In one statement: the pending contacts and call tasks of each debtor of ``cancelled``
    cancelled with its recorded reason (debtor: reason), each (customer, rolled-up stage, entered
    at or None to keep it) of ``stages`` and each (account, its stage and figures) of
    ``accounts`` saved, and each cure of ``cured`` recorded once per account and as-of date (a
    repeat is a no-op). Returns how many contacts and call tasks each debtor of ``cancelled``
    had cancelled (0 for none)."""
    counts = dict.fromkeys(cancelled, 0)
    if not (cancelled or stages or accounts or cured):
        return counts
    driver = await in_transaction(session)
    for row in await driver.fetch(
        _WRITE,
        list(cancelled),
        list(cancelled.values()),
        [account_id for account_id, _ in accounts],
        [a.stage for _, a in accounts],
        [a.dpd for _, a in accounts],
        [a.past_due_minor for _, a in accounts],
        [a.as_of for _, a in accounts],
        [customer for customer, _, _ in stages],
        [stage for _, stage, _ in stages],
        [entered for _, _, entered in stages],
        [c.account_id for c in cured],
        [c.as_of for c in cured],
        [c.customer_id for c in cured],
        [c.from_stage for c in cured],
        [c.event_id for c in cured],
    ):
        counts[row["customer_id"]] = row["n"]
    return counts

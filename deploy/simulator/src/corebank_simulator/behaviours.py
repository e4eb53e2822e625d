"""What each payer behaviour does: the payments it plans when a statement arrives, and what
core banking reports about it as it falls behind (hardship, restructuring, lost contact)."""

from __future__ import annotations

import random
from datetime import date, timedelta

from collections_common.events import AccountReaged, AccountUpdated, EventData, Flags, Risk

from .ledger import Due, Reage
from .portfolio import Account, Behaviour, Pay, Reverse

__all__ = ["plan_statement", "react"]

_REVERSAL_REASONS = (
    "returned by the payer's bank: insufficient funds",
    "returned by the payer's bank: account closed",
    "direct debit recalled by the payer",
)


def plan_statement(account: Account, due: Due, statement_balance: int, rng: random.Random) -> None:
    """Plan the payments of a statement just issued (appended to `account.plan`)."""
    minimum, due_date = due.minimum_minor, due.due_date
    if minimum == 0:
        return
    on_time = max(due.statement_date + timedelta(days=1), due_date - timedelta(days=rng.randrange(0, 13)))
    some = rng.randrange(minimum, statement_balance + 1)
    first = account.statements == 1
    match account.behaviour:
        case Behaviour.ALWAYS_PAYS:
            amount = statement_balance if rng.random() < 0.5 else some
            account.plan.append(Pay(on_time, account.next_payment_id(), amount_minor=amount))
        case Behaviour.DAY_LATE:
            account.plan.append(
                Pay(due_date + timedelta(days=1), account.next_payment_id(), amount_minor=some)
            )
        case Behaviour.LATE:
            late = due_date + timedelta(days=rng.randrange(10, 41))
            account.plan.append(Pay(late, account.next_payment_id(), statement_id=due.statement_id))
        case Behaviour.SELF_CURES if first:  # everything it owes by then
            cured = due_date + timedelta(days=rng.randrange(3, 26))
            account.plan.append(Pay(cured, account.next_payment_id()))
        case Behaviour.SELF_CURES:
            account.plan.append(Pay(on_time, account.next_payment_id(), statement_id=due.statement_id))
        case Behaviour.RESTRUCTURED:
            if account.restructured:
                account.plan.append(Pay(on_time, account.next_payment_id(), statement_id=due.statement_id))
        case Behaviour.PARTIAL:
            part = max(1, minimum * rng.randrange(30, 81) // 100)
            account.plan.append(Pay(on_time, account.next_payment_id(), amount_minor=part))
        case Behaviour.HARDSHIP:
            if account.hardship:
                part = max(1, minimum * rng.randrange(20, 41) // 100)
                account.plan.append(Pay(due_date, account.next_payment_id(), amount_minor=part))
        case Behaviour.REVERSED:
            payment_id = account.next_payment_id()
            account.plan.append(Pay(on_time, payment_id, amount_minor=some))
            if first or rng.random() < 0.3:
                returned = on_time + timedelta(days=rng.randrange(1, 5))
                again = returned + timedelta(days=rng.randrange(3, 13)) if rng.random() < 0.7 else None
                account.plan.append(Reverse(returned, payment_id, rng.choice(_REVERSAL_REASONS), again))
        case Behaviour.NEVER_PAYS:
            pass


def react(account: Account, on: date) -> EventData | None:
    """What core banking reports on `on` about an account falling behind, if anything (once)."""
    watched = {
        Behaviour.HARDSHIP: account.hardship,
        Behaviour.RESTRUCTURED: account.restructured,
        Behaviour.NEVER_PAYS: account.lost_contact,
    }
    if watched.get(account.behaviour, True) or account.ledger.days_past_due(on) < account.trigger_dpd:
        return None
    if account.behaviour is Behaviour.HARDSHIP:
        account.hardship = True
        flags, risk = Flags(hardship=True), Risk(rating="D")
        return AccountUpdated(account_id=account.account_id, flags=flags, risk=risk)
    if account.behaviour is Behaviour.RESTRUCTURED:
        account.restructured = True
        reage = Reage(f"RA-{on:%Y%m%d}", on)
        account.ledger.reages.append(reage)
        return AccountReaged(
            account_id=account.account_id,
            reage_id=reage.reage_id,
            effective_date=on,
            reason="restructuring: instalment plan agreed",
        )
    account.lost_contact = True
    return AccountUpdated(account_id=account.account_id, risk=Risk(rating="E", signals=["lost_contact"]))

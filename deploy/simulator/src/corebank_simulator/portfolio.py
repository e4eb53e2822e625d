"""The simulated portfolio: customers' card accounts, each with a payer behaviour and a ledger."""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from collections_common.events import AccountOpened

from .ledger import Ledger
from .people import new_consents, new_holder

__all__ = [
    "BEHAVIOUR_MIX",
    "CURRENCY",
    "Account",
    "Behaviour",
    "Pay",
    "Portfolio",
    "Reverse",
    "open_portfolio",
]

CURRENCY: Final = "CNY"
_CREDIT_LIMITS = (1_000_000, 2_000_000, 3_000_000, 5_000_000, 8_000_000, 10_000_000, 20_000_000)
_SECOND_ACCOUNT_SHARE = 0.15


class Behaviour(StrEnum):
    """How an account pays its statements."""

    ALWAYS_PAYS = "always_pays"  # on or before the due date, the minimum or more
    DAY_LATE = "day_late"  # the day after the due date
    LATE = "late"  # 10 to 40 days after the due date, the minimum
    SELF_CURES = "self_cures"  # misses one due date, pays all it owes 3-25 days later, then on time
    PARTIAL = "partial"  # on time, but 30-80% of the minimum
    HARDSHIP = "hardship"  # stops paying; core banking flags hardship; then pays a little each month
    NEVER_PAYS = "never_pays"  # never pays; later core banking reports lost contact
    REVERSED = "reversed"  # pays on time, but payments come back from the bank; some are paid again
    RESTRUCTURED = "restructured"  # stops paying; 31-45 days past due it is reaged, then pays on time


BEHAVIOUR_MIX: Final[Mapping[Behaviour, int]] = MappingProxyType(
    {
        Behaviour.ALWAYS_PAYS: 52,
        Behaviour.DAY_LATE: 8,
        Behaviour.LATE: 9,
        Behaviour.SELF_CURES: 8,
        Behaviour.PARTIAL: 6,
        Behaviour.HARDSHIP: 4,
        Behaviour.NEVER_PAYS: 5,
        Behaviour.REVERSED: 4,
        Behaviour.RESTRUCTURED: 4,
    }
)
"""Share of customers with each behaviour, in percent."""


@dataclass(frozen=True)
class Pay:
    """A payment planned for `on`: `amount_minor` if given, else the unpaid part of
    `statement_id` if given, else everything owed on that date. Nothing is paid if that is 0."""

    on: date
    payment_id: str
    amount_minor: int | None = None
    statement_id: str | None = None


@dataclass(frozen=True)
class Reverse:
    """The bank returns payment `payment_id` on `on`; the holder pays it again on `repay_on`."""

    on: date
    payment_id: str
    reason: str
    repay_on: date | None = None


@dataclass
class Account:
    """A card account: what core banking knows of it and what the holder will do."""

    opened: AccountOpened
    behaviour: Behaviour
    cycle_day: int  # statements are dated this day of each month
    balance_minor: int  # what the card owes in total
    trigger_dpd: int  # days past due at which hardship, restructuring or lost contact is reported
    ledger: Ledger = field(default_factory=Ledger.empty)
    plan: list[Pay | Reverse] = field(default_factory=list)
    statements: int = 0
    payments: int = 0
    updates: int = 0
    hardship: bool = False
    restructured: bool = False
    lost_contact: bool = False

    @property
    def account_id(self) -> str:
        return self.opened.account_id

    def next_payment_id(self) -> str:
        self.payments += 1
        return f"PAY-{self.payments:04d}"


@dataclass
class Portfolio:
    """Every account, and the first calendar date not simulated yet."""

    accounts: list[Account]
    namespace: uuid.UUID  # event ids are uuid5(namespace, what the event is about)
    source: str
    next_date: date
    opened_published: bool = False


def open_portfolio(
    accounts: int,
    start: date,
    rng: random.Random,
    *,
    namespace: uuid.UUID,
    source: str,
    mix: Mapping[Behaviour, int] = BEHAVIOUR_MIX,
) -> Portfolio:
    """`accounts` accounts of customers, about 15% of whom hold two; each customer's behaviour
    drawn with the weights of `mix`."""
    behaviours, weights = list(mix), list(mix.values())
    opened: list[Account] = []
    customer = 0
    while len(opened) < accounts:
        customer += 1
        holder = new_holder(rng, start)
        behaviour = rng.choices(behaviours, weights)[0]
        cards = 2 if accounts - len(opened) >= 2 and rng.random() < _SECOND_ACCOUNT_SHARE else 1
        for _ in range(cards):
            number = len(opened) + 1
            limit = rng.choice(_CREDIT_LIMITS)
            opened.append(
                Account(
                    opened=AccountOpened(
                        account_id=f"ACC-{number:06d}",
                        customer_id=f"CUS-{customer:06d}",
                        currency=CURRENCY,
                        credit_limit_minor=limit,
                        opened_on=start - timedelta(days=rng.randrange(60, 3000)),
                        holder=holder,
                        consents=new_consents(rng),
                    ),
                    behaviour=behaviour,
                    cycle_day=rng.randrange(1, 29),
                    balance_minor=limit * rng.randrange(5, 40) // 100,
                    trigger_dpd=_trigger(behaviour, rng),
                )
            )
    return Portfolio(opened, namespace=namespace, source=source, next_date=start)


def _trigger(behaviour: Behaviour, rng: random.Random) -> int:
    if behaviour is Behaviour.HARDSHIP:
        return rng.randrange(5, 21)
    if behaviour is Behaviour.RESTRUCTURED:
        return rng.randrange(31, 46)
    if behaviour is Behaviour.NEVER_PAYS:
        return rng.randrange(45, 71)
    return 0

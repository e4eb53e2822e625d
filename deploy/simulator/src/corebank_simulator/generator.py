"""The events of each business day, from the portfolio's state and a `random.Random`: pure, no I/O.

A business day's batch covers every calendar date since the previous business day (a weekend's
statements and payments go out with Monday's batch, dated as they happened). For each account and
date: what core banking reports about it (hardship, restructuring, lost contact), the statement if
the date is its cycle day, then the payments and reversals planned for that date. The first batch
opens every account. The close of the day follows the batch.

Event ids are UUID 5 of a namespace drawn from the seed and the options, and of what the event is
about (`corebank.payment.posted/ACC-000001/PAY-0003`), and `time` is the batch's time: the same
seed and options give byte-identical events.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Final, Literal

from pydantic import BaseModel

from collections_common.events import (
    AccountReaged,
    AccountUpdated,
    BusinessDayClosed,
    CloudEvent,
    EventTypes,
    PaymentPosted,
    PaymentReversed,
    StatementIssued,
    Topics,
    new_event,
)

from .behaviours import plan_statement, react
from .ledger import Due, Payment
from .portfolio import BEHAVIOUR_MIX, CURRENCY, Account, Behaviour, Pay, Portfolio, Reverse, open_portfolio

__all__ = [
    "CALENDAR_KEY",
    "BusinessDay",
    "Calendar",
    "Outgoing",
    "SimulationOptions",
    "business_days",
    "close_event",
    "day_events",
    "simulate",
]

Calendar = Literal["weekdays", "daily"]
CALENDAR_KEY: Final = "calendar"
DUE_AFTER: Final = timedelta(days=20)
MINIMUM_SHARE_PERCENT: Final = 10
MINIMUM_FLOOR_MINOR: Final = 10_000  # 100.00 CNY
MONTHLY_INTEREST_PER_MILLE: Final = 15
_CORE_BANKING_TZ: Final = timezone(timedelta(hours=8))
_BATCH_AT: Final = time(20, 0)
_CLOSE_AT: Final = time(23, 30)
_CHANNELS = ("bank_transfer", "app", "auto_debit", "wechat_pay", "alipay", "counter")


@dataclass(frozen=True)
class Outgoing:
    """One event to publish: the contract topic (without prefix), the key and the event."""

    topic: str
    key: str
    event: CloudEvent


@dataclass(frozen=True)
class BusinessDay:
    """A business day's events and, to go after all of them, its close."""

    business_date: date
    events: tuple[Outgoing, ...]
    close: Outgoing


@dataclass(frozen=True)
class SimulationOptions:
    """What to simulate; together with `seed` it fixes every byte of every event."""

    accounts: int
    days: int
    start: date
    seed: int = 1
    calendar: Calendar = "weekdays"
    source: str = "corebank"
    mix: Mapping[Behaviour, int] = field(default_factory=lambda: BEHAVIOUR_MIX)  # relative weights

    def __post_init__(self) -> None:
        if self.accounts < 1 or self.days < 1:
            raise ValueError("accounts and days must be at least 1")
        if any(weight < 0 for weight in self.mix.values()) or sum(self.mix.values()) <= 0:
            raise ValueError("behaviour weights must be positive")

    @property
    def namespace(self) -> uuid.UUID:
        """Event ids of a run are drawn from this; the number of days does not change it."""
        mix = ",".join(f"{behaviour}={weight}" for behaviour, weight in sorted(self.mix.items()))
        name = f"corebank-simulator/{self.seed}/{self.accounts}/{self.start}/{self.calendar}/{mix}"
        return uuid.uuid5(uuid.NAMESPACE_URL, name)


def business_days(start: date, count: int, calendar: Calendar) -> Iterator[date]:
    """The first `count` business days from `start` on (Monday to Friday, or every day)."""
    day, left = start, count
    while left:
        if calendar == "daily" or day.weekday() < 5:
            yield day
            left -= 1
        day += timedelta(days=1)


def simulate(options: SimulationOptions) -> Iterator[BusinessDay]:
    """Every business day of the run, in order, each with its events and its close."""
    rng = random.Random(options.seed)
    portfolio = open_portfolio(
        options.accounts,
        options.start,
        rng,
        namespace=options.namespace,
        source=options.source,
        mix=options.mix,
    )
    for business_date in business_days(options.start, options.days, options.calendar):
        events = day_events(portfolio, business_date, rng)
        yield BusinessDay(business_date, tuple(events), close_event(portfolio, business_date))


def day_events(portfolio: Portfolio, business_date: date, rng: random.Random) -> list[Outgoing]:
    """The batch of `business_date`: every calendar date since the last batch, up to it."""
    stamp = datetime.combine(business_date, _BATCH_AT, _CORE_BANKING_TZ)
    out: list[Outgoing] = []
    if not portfolio.opened_published:
        portfolio.opened_published = True
        for account in portfolio.accounts:
            out.append(_event(portfolio, Topics.ACCOUNTS, EventTypes.ACCOUNT_OPENED, account, "", stamp))
    while portfolio.next_date <= business_date:
        on = portfolio.next_date
        for account in portfolio.accounts:
            out.extend(_account_day(portfolio, account, on, stamp, rng))
        portfolio.next_date = on + timedelta(days=1)
    return out


def close_event(portfolio: Portfolio, business_date: date) -> Outgoing:
    """`business-day.closed` for `business_date`, keyed `calendar`."""
    event = new_event(
        EventTypes.BUSINESS_DAY_CLOSED,
        portfolio.source,
        CALENDAR_KEY,
        BusinessDayClosed(business_date=business_date),
        id=_event_id(portfolio, EventTypes.BUSINESS_DAY_CLOSED, business_date.isoformat()),
        time=datetime.combine(business_date, _CLOSE_AT, _CORE_BANKING_TZ),
    )
    return Outgoing(Topics.CALENDAR, CALENDAR_KEY, event)


def _account_day(
    portfolio: Portfolio, account: Account, on: date, stamp: datetime, rng: random.Random
) -> Iterator[Outgoing]:
    reported = react(account, on)
    if isinstance(reported, AccountUpdated):
        account.updates += 1
        yield _updated(portfolio, account, reported, stamp)
    elif isinstance(reported, AccountReaged):
        yield _event(
            portfolio, Topics.BILLING, EventTypes.ACCOUNT_REAGED, account, reported.reage_id, stamp, reported
        )
    if on.day == account.cycle_day:
        yield _issue_statement(portfolio, account, on, stamp, rng)
    due_now = [step for step in account.plan if step.on == on]
    if due_now:
        account.plan = [step for step in account.plan if step.on != on]
    for step in due_now:
        if isinstance(step, Pay):
            posted = _pay(portfolio, account, step, stamp, rng)
            if posted is not None:
                yield posted
        else:
            yield from _reverse(portfolio, account, step, stamp)


def _issue_statement(
    portfolio: Portfolio, account: Account, on: date, stamp: datetime, rng: random.Random
) -> Outgoing:
    """New spending (none on a card past due or in hardship), interest on what was carried."""
    limit = account.opened.credit_limit_minor
    carried = account.balance_minor
    blocked = account.hardship or account.restructured or account.ledger.days_past_due(on) > 0
    spend = 0 if blocked else rng.randrange(limit * 3 // 100, limit * 25 // 100)
    interest = carried * MONTHLY_INTEREST_PER_MILLE // 1000
    balance = max(carried, min(limit, carried + spend)) + interest
    account.balance_minor = balance
    minimum = min(balance, max(MINIMUM_FLOOR_MINOR, balance * MINIMUM_SHARE_PERCENT // 100))
    due = Due(f"S-{on:%Y%m}", on, on + DUE_AFTER, minimum)
    account.ledger.dues.append(due)
    account.statements += 1
    plan_statement(account, due, balance, rng)
    data = StatementIssued(
        account_id=account.account_id,
        statement_id=due.statement_id,
        statement_date=on,
        due_date=due.due_date,
        statement_balance_minor=balance,
        minimum_due_minor=minimum,
        currency=CURRENCY,
    )
    return _event(
        portfolio, Topics.BILLING, EventTypes.STATEMENT_ISSUED, account, due.statement_id, stamp, data
    )


def _pay(
    portfolio: Portfolio, account: Account, step: Pay, stamp: datetime, rng: random.Random
) -> Outgoing | None:
    if step.amount_minor is not None:
        amount = step.amount_minor
    elif step.statement_id is not None:
        amount = account.ledger.unpaid()[step.statement_id]
    else:
        amount = account.ledger.owed(step.on)
    if amount < 1:
        return None
    account.ledger.payments.append(Payment(step.payment_id, step.on, amount))
    account.balance_minor = max(0, account.balance_minor - amount)
    data = PaymentPosted(
        account_id=account.account_id,
        payment_id=step.payment_id,
        amount_minor=amount,
        currency=CURRENCY,
        value_date=step.on,
        channel=rng.choice(_CHANNELS),
    )
    return _event(
        portfolio, Topics.PAYMENTS, EventTypes.PAYMENT_POSTED, account, step.payment_id, stamp, data
    )


def _reverse(portfolio: Portfolio, account: Account, step: Reverse, stamp: datetime) -> Iterator[Outgoing]:
    payment = account.ledger.payment(step.payment_id)
    if payment is None or payment.reversed:
        return
    payment.reversed = True
    account.balance_minor += payment.amount_minor
    if step.repay_on is not None:
        account.plan.append(Pay(step.repay_on, account.next_payment_id(), amount_minor=payment.amount_minor))
    data = PaymentReversed(account_id=account.account_id, payment_id=payment.payment_id, reason=step.reason)
    yield _event(
        portfolio, Topics.PAYMENTS, EventTypes.PAYMENT_REVERSED, account, payment.payment_id, stamp, data
    )


def _updated(portfolio: Portfolio, account: Account, data: AccountUpdated, stamp: datetime) -> Outgoing:
    about = f"U-{account.updates:03d}"
    return _event(portfolio, Topics.ACCOUNTS, EventTypes.ACCOUNT_UPDATED, account, about, stamp, data)


def _event(
    portfolio: Portfolio,
    topic: str,
    type_: str,
    account: Account,
    about: str,
    stamp: datetime,
    data: BaseModel | None = None,
) -> Outgoing:
    """An event about `account` (`data` defaults to its `account.opened`)."""
    key = account.account_id
    event = new_event(
        type_,
        portfolio.source,
        key,
        data if data is not None else account.opened,
        id=_event_id(portfolio, type_, f"{key}/{about}"),
        time=stamp,
    )
    return Outgoing(topic, key, event)


def _event_id(portfolio: Portfolio, type_: str, about: str) -> str:
    return str(uuid.uuid5(portfolio.namespace, f"{type_}/{about}"))

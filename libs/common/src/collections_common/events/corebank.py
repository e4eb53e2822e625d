"""`data` of the events core banking publishes (DOMAIN.md section 3).

One model per `contracts/events/corebank.*.schema.json`; a field is required here exactly when
the schema lists it in `required`, and carries the same type, bounds and pattern.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from ._base import (
    CountryCode,
    Currency,
    Email,
    EventData,
    Identifier,
    IsoDate,
    MinorAmount,
    Omittable,
    Phone,
    PositiveMinorAmount,
    Text,
)

__all__ = [
    "AccountClosed",
    "AccountOpened",
    "AccountReaged",
    "AccountUpdated",
    "Address",
    "BusinessDayClosed",
    "Consents",
    "Flags",
    "Holder",
    "PaymentPosted",
    "PaymentReversed",
    "Risk",
    "RiskRating",
    "StatementIssued",
]

RiskRating = Literal["A", "B", "C", "D", "E"]


class Address(EventData):
    """A postal address; every part optional."""

    line1: Omittable[str] = None
    city: Omittable[str] = None
    region: Omittable[str] = None
    postal_code: Omittable[str] = None
    country: Omittable[CountryCode] = None


class Holder(EventData):
    """The card holder; in `account.updated` only the parts that changed."""

    name: Omittable[Annotated[str, Field(min_length=1)]] = None
    national_id: Omittable[str] = None
    phones: Omittable[list[Phone]] = None
    email: Omittable[Email] = None
    address: Omittable[Address] = None
    timezone: Omittable[Annotated[str, Field(min_length=1, description="IANA time zone")]] = None
    language: Omittable[str] = None


class Consents(EventData):
    """Channel consents; in `account.updated` only the ones that changed."""

    sms: Omittable[bool] = None
    email: Omittable[bool] = None
    push: Omittable[bool] = None
    autodial: Omittable[bool] = None


class Flags(EventData):
    """Account flags that stop or shape collection; only the ones that changed."""

    do_not_contact: Omittable[bool] = None
    dispute: Omittable[bool] = None
    bankruptcy: Omittable[bool] = None
    deceased: Omittable[bool] = None
    legal_representation: Omittable[bool] = None
    hardship: Omittable[bool] = None
    fraud_suspected: Omittable[bool] = None


class Risk(EventData):
    """The bank's risk view of the account."""

    rating: Omittable[RiskRating] = None
    signals: Omittable[
        Annotated[list[str], Field(description="e.g. multiple_lenders, asset_transfer, lost_contact")]
    ] = None


class AccountOpened(EventData):
    """`corebank.account.opened`: a card account was opened."""

    account_id: Identifier
    customer_id: Identifier
    currency: Currency
    credit_limit_minor: MinorAmount
    opened_on: IsoDate
    holder: Holder
    consents: Consents


class AccountUpdated(EventData):
    """`corebank.account.updated`: some of holder, consents, flags and risk changed."""

    account_id: Identifier
    holder: Omittable[Holder] = None
    consents: Omittable[Consents] = None
    flags: Omittable[Flags] = None
    risk: Omittable[Risk] = None


class AccountClosed(EventData):
    """`corebank.account.closed`: the account was closed; it still owes and keeps aging."""

    account_id: Identifier
    closed_on: IsoDate
    reason: Omittable[Text] = None


class StatementIssued(EventData):
    """`corebank.statement.issued`: a statement with this cycle's own new minimum due."""

    account_id: Identifier
    statement_id: Identifier
    statement_date: IsoDate
    due_date: IsoDate
    statement_balance_minor: MinorAmount
    minimum_due_minor: Annotated[
        MinorAmount,
        Field(description="this cycle's new minimum, without amounts already past due"),
    ]
    currency: Currency


class AccountReaged(EventData):
    """`corebank.account.reaged`: a restructuring settles what was owed before the date."""

    account_id: Identifier
    reage_id: Identifier
    effective_date: IsoDate
    reason: Omittable[Text] = None


class PaymentPosted(EventData):
    """`corebank.payment.posted`: a payment was credited to the account."""

    account_id: Identifier
    payment_id: Identifier
    amount_minor: PositiveMinorAmount
    currency: Currency
    value_date: IsoDate
    channel: Omittable[Text] = None


class PaymentReversed(EventData):
    """`corebank.payment.reversed`: a payment of the account is undone as a whole."""

    account_id: Identifier
    payment_id: Identifier
    reason: Omittable[Text] = None


class BusinessDayClosed(EventData):
    """`corebank.business-day.closed`: every event of that business day has been published.

    A close for the last representable date (9999-12-31) is refused: it has no next day to age
    to (DOMAIN.md section 3).
    """

    business_date: IsoDate

    @field_validator("business_date")
    @classmethod
    def _has_a_next_day(cls, value: date) -> date:
        if value == date.max:
            raise PydanticCustomError("no_next_day", "a close must have a next day (not 9999-12-31)")
        return value

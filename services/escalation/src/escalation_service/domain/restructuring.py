"""Restructuring offers (DOMAIN.md section 6; CN 2011 rules art. 70). Pure, no I/O.

An offer restructures what the account owes into 1 to 60 monthly instalments (fewer if the
configuration says so), with an optional reduction of the instalment fee (an amount or basis
points; never a float) and an expiry date. It is accepted, declined or expires. An agreed plan
stops collection contact and recalls an agency placement; its ``event_data`` is the ``data`` of
``collections.restructuring.agreed``, which core banking answers with ``account.reaged``.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Literal

from escalation_service.domain.errors import InvalidOffer, InvalidTransition, OfferExpired
from escalation_service.domain.rules import RestructuringSettings

__all__ = [
    "Agreement",
    "FeeReduction",
    "Instalment",
    "Offer",
    "OfferStatus",
    "Terms",
    "accept",
    "add_months",
    "decline",
    "expire",
    "first_missed",
    "make_offer",
    "schedule",
]

OfferStatus = Literal["offered", "accepted", "declined", "expired"]
BASIS_POINTS = 10_000


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months, on the same day or the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


@dataclass(frozen=True, slots=True)
class FeeReduction:
    """A reduction of the instalment fee: an amount in minor units or basis points (one of them)."""

    amount_minor: int | None = None
    basis_points: int | None = None

    def of(self, fee_minor: int) -> int:
        """The reduction applied to ``fee_minor`` (basis points round down to the minor unit)."""
        if self.amount_minor is not None:
            return self.amount_minor
        assert self.basis_points is not None
        return fee_minor * self.basis_points // BASIS_POINTS


@dataclass(frozen=True, slots=True)
class Terms:
    """What is restructured: the amount owed, the number of instalments, the instalment fee
    before any reduction, and the first due date (the others follow monthly)."""

    outstanding_minor: int
    instalments: int
    fee_minor: int
    first_due_date: date
    currency: str
    fee_reduction: FeeReduction | None = None

    @property
    def fee_reduction_minor(self) -> int:
        """The fee reduction in minor units (0 without one)."""
        return self.fee_reduction.of(self.fee_minor) if self.fee_reduction else 0

    @property
    def total_minor(self) -> int:
        """What the plan collects: the amount owed plus the fee less its reduction."""
        return self.outstanding_minor + self.fee_minor - self.fee_reduction_minor


@dataclass(frozen=True, slots=True)
class Instalment:
    """One instalment of a plan."""

    number: int
    due_date: date
    amount_minor: int


def schedule(terms: Terms) -> tuple[Instalment, ...]:
    """The instalments: equal parts of the total, the first ``total % n`` one minor unit larger,
    so that they sum to the total exactly."""
    base, remainder = divmod(terms.total_minor, terms.instalments)
    return tuple(
        Instalment(n, add_months(terms.first_due_date, n - 1), base + (1 if n <= remainder else 0))
        for n in range(1, terms.instalments + 1)
    )


@dataclass(frozen=True, slots=True)
class Offer:
    """A restructuring offer and where it stands; ``answered_on`` is set once it is not
    ``offered`` any more."""

    offer_id: str
    account_id: str
    customer_id: str
    terms: Terms
    offered_on: date
    expires_on: date
    status: OfferStatus = "offered"
    answered_on: date | None = None


def _check(terms: Terms, offered_on: date, settings: RestructuringSettings) -> None:
    if not 1 <= terms.instalments <= settings.max_instalments:
        raise InvalidOffer(
            f"instalments must be between 1 and {settings.max_instalments}, got {terms.instalments}"
        )
    if terms.outstanding_minor <= 0:
        raise InvalidOffer(f"outstanding_minor must be positive, got {terms.outstanding_minor}")
    if terms.fee_minor < 0:
        raise InvalidOffer(f"fee_minor must not be negative, got {terms.fee_minor}")
    reduction = terms.fee_reduction
    if reduction is not None:
        if (reduction.amount_minor is None) == (reduction.basis_points is None):
            raise InvalidOffer("a fee reduction is either amount_minor or basis_points, exactly one of them")
        if reduction.amount_minor is not None and not 0 <= reduction.amount_minor <= terms.fee_minor:
            raise InvalidOffer(
                f"fee reduction amount_minor must be between 0 and the fee ({terms.fee_minor}), "
                f"got {reduction.amount_minor}"
            )
        if reduction.basis_points is not None and not 0 <= reduction.basis_points <= BASIS_POINTS:
            raise InvalidOffer(
                f"fee reduction basis_points must be between 0 and 10000, got {reduction.basis_points}"
            )
    if terms.first_due_date <= offered_on:
        raise InvalidOffer(
            f"the first instalment is due after the offer: {terms.first_due_date.isoformat()} "
            f"is not after {offered_on.isoformat()}"
        )


def make_offer(
    offer_id: str,
    account_id: str,
    customer_id: str,
    terms: Terms,
    *,
    offered_on: date,
    settings: RestructuringSettings,
    expires_on: date | None = None,
) -> Offer:
    """A validated offer; it may be accepted until ``expires_on`` (default: offered_on plus
    ``settings.offer_valid_days``), that day included."""
    _check(terms, offered_on, settings)
    expiry = expires_on if expires_on is not None else offered_on + timedelta(days=settings.offer_valid_days)
    if expiry < offered_on:
        raise InvalidOffer(f"expires_on {expiry.isoformat()} is before offered_on {offered_on.isoformat()}")
    return Offer(offer_id, account_id, customer_id, terms, offered_on, expiry)


def _open(offer: Offer, on: date, verb: str) -> None:
    if offer.status != "offered":
        raise InvalidTransition(f"offer {offer.offer_id} is {offer.status}; it cannot be {verb}")
    if on < offer.offered_on:
        raise InvalidTransition(
            f"offer {offer.offer_id} cannot be {verb} on {on.isoformat()}, "
            f"before it was made ({offer.offered_on.isoformat()})"
        )
    if on > offer.expires_on:
        raise OfferExpired(f"offer {offer.offer_id} expired on {offer.expires_on.isoformat()}")


@dataclass(frozen=True, slots=True)
class Agreement:
    """An accepted offer and what it implies: collection contact stops and a placement is
    recalled (reason ``restructuring_agreed``) while the plan holds."""

    offer: Offer
    agreed_on: date
    instalments: tuple[Instalment, ...]
    stops_contact: bool = True
    recall_reason: Literal["restructuring_agreed"] = "restructuring_agreed"

    def event_data(self) -> dict[str, object]:
        """The ``data`` of ``collections.restructuring.agreed`` (for core banking)."""
        terms = self.offer.terms
        return {
            "offer_id": self.offer.offer_id,
            "account_id": self.offer.account_id,
            "customer_id": self.offer.customer_id,
            "agreed_on": self.agreed_on.isoformat(),
            "effective_date": self.agreed_on.isoformat(),
            "currency": terms.currency,
            "outstanding_minor": terms.outstanding_minor,
            "fee_minor": terms.fee_minor,
            "fee_reduction_minor": terms.fee_reduction_minor,
            "total_minor": terms.total_minor,
            "instalment_count": len(self.instalments),
            "instalments": [
                {"number": i.number, "due_date": i.due_date.isoformat(), "amount_minor": i.amount_minor}
                for i in self.instalments
            ],
        }


def accept(offer: Offer, on: date) -> tuple[Offer, Agreement]:
    """The debtor accepts on ``on`` (at the latest on the expiry date)."""
    _open(offer, on, "accepted")
    accepted = replace(offer, status="accepted", answered_on=on)
    return accepted, Agreement(accepted, on, schedule(offer.terms))


def decline(offer: Offer, on: date) -> Offer:
    """The debtor declines on ``on``."""
    _open(offer, on, "declined")
    return replace(offer, status="declined", answered_on=on)


def expire(offer: Offer, today: date) -> Offer:
    """The offer lapses: allowed once ``today`` is after the expiry date and it is unanswered."""
    if offer.status != "offered":
        raise InvalidTransition(f"offer {offer.offer_id} is {offer.status}; it cannot expire")
    if today <= offer.expires_on:
        raise InvalidTransition(f"offer {offer.offer_id} is open until {offer.expires_on.isoformat()}")
    return replace(offer, status="expired", answered_on=offer.expires_on + timedelta(days=1))


def first_missed(
    instalments: Iterable[Instalment],
    payments: Iterable[tuple[date, int]],
    *,
    as_of: date,
    grace_days: int = 0,
) -> Instalment | None:
    """The first instalment not covered in time, which breaks the plan, or ``None``.

    An instalment is covered when the payments (``(value_date, amount_minor)``) made by its due
    date plus ``grace_days`` add up to everything due up to and including it; only instalments
    whose grace has passed by ``as_of`` are judged.
    """
    paid = sorted(payments)
    due_so_far = 0
    for instalment in sorted(instalments, key=lambda i: i.number):
        due_so_far += instalment.amount_minor
        deadline = instalment.due_date + timedelta(days=grace_days)
        if deadline >= as_of:
            return None
        if sum(amount for value_date, amount in paid if value_date <= deadline) < due_so_far:
            return instalment
    return None

"""The per-account aggregate: what the aging service knows about one account, and rule 5.

The service loads an ``AccountBook``, applies one event to it and saves it. Each ``record_*``
method (and ``apply_close``) either raises ``RejectedEvent`` and leaves the book unchanged,
or records the fact and returns the ``StageChanged`` it causes, if any (DOMAIN.md section 4
rule 5: a change is emitted only when the newly computed stage differs from the last one
emitted, and then ``stage`` is updated). A resend of a known fact with the same content is
a no-op returning ``None``.

Currency (DOMAIN.md section 3): the account's currency is the one in ``account.opened``, or,
while that has not been seen, the first currency seen on a statement or payment. An
``account.opened`` whose currency differs from facts already recorded is rejected as bad
input (the recorded facts stay; the opening goes to the DLQ to be fixed and replayed).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

from aging_service.domain.aging import Assessment, Due, Payment, Reage, assess
from aging_service.domain.errors import (
    ConflictingDuplicate,
    CurrencyMismatch,
    InconsistentBook,
    InvalidFact,
)
from aging_service.domain.policy import AgingPolicy
from collections_common.events import StageChangeCause

__all__ = ["AccountBook", "Cause", "PostedPayment", "StageChanged", "Statement"]

Cause = StageChangeCause
"""Why a stage changed: the contract's ``StageChangeCause``, defined once there."""

MAX_TOTAL_DUE_MINOR = 10**15
"""The most an account's minimum dues may add up to: a past-due amount (at most their sum) then
fits the contract's bound for ``past_due_minor`` and a 64-bit column (DOMAIN.md section 3)."""


@dataclass(frozen=True, slots=True)
class Statement:
    """A statement as recorded: its identity is ``statement_id`` within the account."""

    statement_id: str
    statement_date: date
    due_date: date
    minimum_due_minor: int
    statement_balance_minor: int

    def to_due(self) -> Due:
        """The minimum due this statement contributes to aging."""
        return Due(
            statement_id=self.statement_id,
            statement_date=self.statement_date,
            due_date=self.due_date,
            amount_minor=self.minimum_due_minor,
        )


@dataclass(frozen=True, slots=True)
class PostedPayment:
    """A payment as posted (reversal is kept apart: it may arrive before the payment)."""

    payment_id: str
    value_date: date
    amount_minor: int


@dataclass(frozen=True, slots=True)
class StageChanged:
    """Rule 5: the account moved from one stage to another (``collections.stage.changed``)."""

    account_id: str
    customer_id: str | None
    from_stage: str
    to_stage: str
    dpd: int
    past_due_minor: int
    oldest_unpaid_due_date: date | None
    as_of: date
    cause: Cause
    cause_event_id: str
    currency: str

    def values(self) -> dict[str, Any]:
        """The fields by name (values as they are: ``dataclasses.asdict`` would deep-copy each)."""
        return {name: getattr(self, name) for name in _STAGE_CHANGED_FIELDS}


_STAGE_CHANGED_FIELDS = tuple(f.name for f in fields(StageChanged))


@dataclass
class AccountBook:
    """Everything aging knows about one account; pure, mutable, loaded and saved by the service.

    ``stage`` is the last stage emitted ("" on construction means the policy's current stage).
    ``as_of`` is the as-of date the stage was last computed at (``None``: never, or before
    any close); it never moves backwards. ``next_change_on`` is the assessment's, as of
    that reassessment, so the service can index accounts whose stage a later close may change.
    """

    account_id: str
    policy: AgingPolicy = field(default_factory=AgingPolicy)
    customer_id: str | None = None
    currency: str | None = None
    opened: bool = False
    statements: dict[str, Statement] = field(default_factory=dict)
    payments: dict[str, PostedPayment] = field(default_factory=dict)
    reversed_payment_ids: set[str] = field(default_factory=set)
    reages: dict[str, Reage] = field(default_factory=dict)
    stage: str = ""
    as_of: date | None = None
    next_change_on: date | None = None
    assessment: Assessment | None = field(default=None, repr=False, compare=False)
    """The last reassessment: what the facts give at ``as_of`` (a cache, so savers need not
    compute it again)."""
    _dues: tuple[int, tuple[Due, ...]] = field(default=(-1, ()), init=False, repr=False, compare=False)
    _payment_records: tuple[tuple[int, int], tuple[Payment, ...]] = field(
        default=((-1, -1), ()), init=False, repr=False, compare=False
    )
    """``dues()`` and ``payment_records()`` as last built, with the counts of facts they were built
    from: facts are only ever added (an id keeps the content it was first recorded with), so the
    counts tell whether a new one came since (every reassessment asks for both)."""

    def __post_init__(self) -> None:
        if not self.stage:
            self.stage = self.policy.current_stage

    # -- queries ---------------------------------------------------------------------------

    def dues(self) -> tuple[Due, ...]:
        """The minimum dues, one per statement."""
        built_from, dues = self._dues
        if built_from != len(self.statements):
            dues = tuple(statement.to_due() for statement in self.statements.values())
            self._dues = (len(self.statements), dues)
        return dues

    def payment_records(self) -> tuple[Payment, ...]:
        """The payments with their reversal flag, by value date then payment id."""
        counts = (len(self.payments), len(self.reversed_payment_ids))
        built_from, records = self._payment_records
        if built_from != counts:
            records = self._build_payment_records()
            self._payment_records = (counts, records)
        return records

    def _build_payment_records(self) -> tuple[Payment, ...]:
        records = (
            Payment(
                payment_id=payment.payment_id,
                value_date=payment.value_date,
                amount_minor=payment.amount_minor,
                reversed=payment.payment_id in self.reversed_payment_ids,
            )
            for payment in self.payments.values()
        )
        return tuple(sorted(records, key=lambda record: (record.value_date, record.payment_id)))

    def assess(self, as_of: date | None, policy: AgingPolicy | None = None) -> Assessment:
        """Rules 1 to 4 over the recorded facts (with this book's policy unless one is given)."""
        return assess(
            self.dues(),
            self.payment_records(),
            self.reages.values(),
            as_of,
            self.policy if policy is None else policy,
        )

    # -- events ----------------------------------------------------------------------------

    def open(
        self, customer_id: str, currency: str, *, event_id: str, as_of: date | None
    ) -> StageChanged | None:
        """``account.opened``: learn the customer and the authoritative currency.

        Opening changes no aging fact, so it never emits (always returns ``None``). A second
        opening with the same content is a no-op; with different content it is rejected, as
        is an opening whose currency differs from the facts already recorded.
        """
        if self.opened:
            if (customer_id, currency) == (self.customer_id, self.currency):
                return None
            raise ConflictingDuplicate(
                "account.opened: the account was opened with a different customer or currency"
            )
        if self.currency is not None and currency != self.currency:
            raise CurrencyMismatch("account.opened: currency differs from the account's recorded facts")
        self.opened = True
        self.customer_id = customer_id
        self.currency = currency
        return None

    def record_statement(
        self,
        statement_id: str,
        statement_date: date,
        due_date: date,
        minimum_due_minor: int,
        statement_balance_minor: int,
        currency: str,
        *,
        event_id: str,
        as_of: date | None,
    ) -> StageChanged | None:
        """``statement.issued``: record the statement's minimum due."""
        if minimum_due_minor < 0 or statement_balance_minor < 0:
            raise InvalidFact("statement: an amount is negative")
        if due_date < statement_date:
            raise InvalidFact("statement: due_date before statement_date")
        self._check_currency(currency, "statement")
        statement = Statement(
            statement_id=statement_id,
            statement_date=statement_date,
            due_date=due_date,
            minimum_due_minor=minimum_due_minor,
            statement_balance_minor=statement_balance_minor,
        )
        known = self.statements.get(statement_id)
        if known == statement:
            return None
        if known is not None:
            raise ConflictingDuplicate("statement: same statement_id recorded with different content")
        if self.total_due_minor() + minimum_due_minor > MAX_TOTAL_DUE_MINOR:
            raise InvalidFact("statement: the account's minimum dues would total more than 10^15")
        self._adopt_currency(currency)
        self.statements[statement_id] = statement
        return self._reassess("statement", event_id, as_of)

    def record_payment(
        self,
        payment_id: str,
        value_date: date,
        amount_minor: int,
        currency: str,
        *,
        event_id: str,
        as_of: date | None,
    ) -> StageChanged | None:
        """``payment.posted``: record the payment (reversed already if its reversal came first)."""
        if amount_minor <= 0:
            raise InvalidFact("payment: amount must be positive")
        self._check_currency(currency, "payment")
        payment = PostedPayment(
            payment_id=payment_id,
            value_date=value_date,
            amount_minor=amount_minor,
        )
        known = self.payments.get(payment_id)
        if known == payment:
            return None
        if known is not None:
            raise ConflictingDuplicate("payment: same payment_id recorded with different content")
        self._adopt_currency(currency)
        self.payments[payment_id] = payment
        return self._reassess("payment", event_id, as_of)

    def record_reversal(
        self,
        payment_id: str,
        *,
        event_id: str,
        as_of: date | None,
    ) -> StageChanged | None:
        """``payment.reversed``: undo the whole payment, now or when it arrives.

        Reversing a payment already reversed is a no-op.
        """
        if payment_id in self.reversed_payment_ids:
            return None
        self.reversed_payment_ids.add(payment_id)
        return self._reassess("payment_reversal", event_id, as_of)

    def record_reage(
        self, reage_id: str, effective_date: date, *, event_id: str, as_of: date | None
    ) -> StageChanged | None:
        """``account.reaged``: settle what was owed on statements before ``effective_date``."""
        reage = Reage(reage_id=reage_id, effective_date=effective_date)
        known = self.reages.get(reage_id)
        if known == reage:
            return None
        if known is not None:
            raise ConflictingDuplicate("reage: same reage_id recorded with different content")
        self.reages[reage_id] = reage
        return self._reassess("reage", event_id, as_of)

    def apply_close(self, as_of: date, event_id: str) -> StageChanged | None:
        """Rule 1: the close barrier moves this account's as-of date to ``as_of`` (``D + 1``).

        A close that does not move the as-of date forward changes nothing.
        """
        if self.as_of is not None and as_of <= self.as_of:
            return None
        return self._reassess("day_close", event_id, as_of)

    def total_due_minor(self) -> int:
        """The sum of the minimum dues of every statement recorded."""
        return sum(statement.minimum_due_minor for statement in self.statements.values())

    # -- internals -------------------------------------------------------------------------

    def _check_currency(self, currency: str, what: str) -> None:
        if self.currency is not None and currency != self.currency:
            raise CurrencyMismatch(f"{what}: currency differs from the account's")

    def _adopt_currency(self, currency: str) -> None:
        # Section 3: while account.opened is unseen, the first currency seen is the account's.
        if self.currency is None:
            self.currency = currency

    def _reassess(self, cause: Cause, event_id: str, as_of: date | None) -> StageChanged | None:
        """Rule 5: compute the stage again; emit a change only if it differs from ``stage``."""
        if as_of is None or (self.as_of is not None and as_of < self.as_of):
            as_of = self.as_of  # the as-of date never moves backwards
        self.as_of = as_of
        assessment = self.assess(as_of)
        self.assessment = assessment
        self.next_change_on = assessment.next_change_on
        if as_of is None or assessment.stage == self.stage:
            # Rule 1: before any close nothing is delinquent and no stage can change.
            return None
        if self.currency is None:
            raise InconsistentBook(f"account {self.account_id} has dues but no currency")
        change = StageChanged(
            account_id=self.account_id,
            customer_id=self.customer_id,
            from_stage=self.stage,
            to_stage=assessment.stage,
            dpd=assessment.dpd,
            past_due_minor=assessment.past_due_minor,
            oldest_unpaid_due_date=assessment.oldest_unpaid_due_date,
            as_of=as_of,
            cause=cause,
            cause_event_id=event_id,
            currency=self.currency,
        )
        self.stage = assessment.stage
        return change

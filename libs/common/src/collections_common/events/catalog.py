"""The one place that says which event `type` travels on which topic with which `data` model.

`parse` turns the bytes of a Kafka record into a `TypedEvent`, or raises `InvalidEvent` with a
one-line reason for the dead-letter headers.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Generic, TypeVar

from pydantic import ValidationError

from ._base import EventData
from ._errors import InvalidEvent, describe_errors
from .agency import ActivityReported, AgencyRegistered, AgencyUpdated, CaseReturned
from .contact import (
    ComplaintReceived,
    ContactAttempted,
    DebtorUnreachable,
    HardshipReported,
    HoldEnded,
    HoldSet,
    PermitBlocked,
    PromiseBroken,
    PromiseKept,
    PromiseMade,
)
from .corebank import (
    AccountClosed,
    AccountOpened,
    AccountReaged,
    AccountUpdated,
    BusinessDayClosed,
    PaymentPosted,
    PaymentReversed,
    StatementIssued,
)
from .delinquency import StageChanged
from .envelope import CloudEvent, decode
from .escalation import (
    BureauCleared,
    BureauFlagged,
    CasePlaced,
    CaseRecalled,
    LegalOpened,
    LetterIssued,
    RestructuringAgreed,
    RestructuringOffered,
    VisitCompleted,
    VisitScheduled,
)

__all__ = [
    "CATALOG",
    "DLQ_HEADERS",
    "EventSpec",
    "EventTypes",
    "Topics",
    "TypedEvent",
    "dlq_topic",
    "parse",
    "spec_for",
    "spec_of",
    "validate",
]

D = TypeVar("D", bound=EventData, covariant=True)

DLQ_SUFFIX: Final = ".dlq"


class Topics:
    """Kafka topic names (DOMAIN.md sections 3 and 8)."""

    ACCOUNTS: Final = "corebank.accounts.v1"
    BILLING: Final = "corebank.billing.v1"
    PAYMENTS: Final = "corebank.payments.v1"
    CALENDAR: Final = "corebank.calendar.v1"
    DELINQUENCY: Final = "collections.delinquency.v1"
    CONTACT: Final = "collections.contact.v1"
    ESCALATION: Final = "collections.escalation.v1"
    AGENCY: Final = "collections.agency.v1"


class EventTypes:
    """CloudEvents `type` values of the contract."""

    ACCOUNT_OPENED: Final = "corebank.account.opened"
    ACCOUNT_UPDATED: Final = "corebank.account.updated"
    ACCOUNT_CLOSED: Final = "corebank.account.closed"
    STATEMENT_ISSUED: Final = "corebank.statement.issued"
    ACCOUNT_REAGED: Final = "corebank.account.reaged"
    PAYMENT_POSTED: Final = "corebank.payment.posted"
    PAYMENT_REVERSED: Final = "corebank.payment.reversed"
    BUSINESS_DAY_CLOSED: Final = "corebank.business-day.closed"
    STAGE_CHANGED: Final = "collections.stage.changed"
    CONTACT_ATTEMPTED: Final = "collections.contact.attempted"
    PERMIT_BLOCKED: Final = "collections.permit.blocked"
    PROMISE_MADE: Final = "collections.promise.made"
    PROMISE_KEPT: Final = "collections.promise.kept"
    PROMISE_BROKEN: Final = "collections.promise.broken"
    HARDSHIP_REPORTED: Final = "collections.hardship.reported"
    HOLD_SET: Final = "collections.hold.set"
    HOLD_ENDED: Final = "collections.hold.ended"
    DEBTOR_UNREACHABLE: Final = "collections.debtor.unreachable"
    COMPLAINT_RECEIVED: Final = "collections.complaint.received"
    LETTER_ISSUED: Final = "collections.letter.issued"
    VISIT_SCHEDULED: Final = "collections.visit.scheduled"
    VISIT_COMPLETED: Final = "collections.visit.completed"
    RESTRUCTURING_OFFERED: Final = "collections.restructuring.offered"
    RESTRUCTURING_AGREED: Final = "collections.restructuring.agreed"
    CASE_PLACED: Final = "collections.case.placed"
    CASE_RECALLED: Final = "collections.case.recalled"
    LEGAL_OPENED: Final = "collections.legal.opened"
    BUREAU_FLAGGED: Final = "collections.bureau.flagged"
    BUREAU_CLEARED: Final = "collections.bureau.cleared"
    AGENCY_REGISTERED: Final = "collections.agency.registered"
    AGENCY_UPDATED: Final = "collections.agency.updated"
    ACTIVITY_REPORTED: Final = "collections.agency.activity.reported"
    CASE_RETURNED: Final = "collections.agency.case.returned"


def dlq_topic(topic: str) -> str:
    """The dead-letter topic of `topic`: the same name with `.dlq`."""
    return topic + DLQ_SUFFIX


DLQ_HEADERS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "dlq-reason": "Why the record was refused, one line naming the field and the rule "
        "(e.g. `data.amount_minor: Input should be greater than or equal to 1`).",
        "dlq-source-topic": "The topic the record was consumed from.",
        "dlq-source-partition": "The partition it was consumed from, in decimal.",
        "dlq-source-offset": "Its offset in that partition, in decimal.",
        "dlq-failed-at": "When it was refused: an RFC 3339 time in UTC.",
        "dlq-consumer": "The consumer (group) that refused it.",
        "dlq-value-truncated": "Present when the record's value was larger than a dead letter keeps:"
        " `size=<bytes> sha256=<hex>` of the whole value (the dead letter holds its first part).",
        "dlq-key-truncated": "The same for a key larger than a dead letter keeps.",
        "dlq-headers-dropped": "How many of the record's own headers did not fit and were left out.",
    }
)
"""Headers of dead letters, with what each holds (those of ``DLQ_OPTIONAL_HEADERS`` only when they
apply)."""

DLQ_OPTIONAL_HEADERS: Final = frozenset({"dlq-value-truncated", "dlq-key-truncated", "dlq-headers-dropped"})


@dataclass(frozen=True, slots=True)
class EventSpec:
    """An event type of the contract: its topic and the model of its `data`."""

    type: str
    topic: str
    model: builtins.type[EventData]


_SPECS = (
    EventSpec(EventTypes.ACCOUNT_OPENED, Topics.ACCOUNTS, AccountOpened),
    EventSpec(EventTypes.ACCOUNT_UPDATED, Topics.ACCOUNTS, AccountUpdated),
    EventSpec(EventTypes.ACCOUNT_CLOSED, Topics.ACCOUNTS, AccountClosed),
    EventSpec(EventTypes.STATEMENT_ISSUED, Topics.BILLING, StatementIssued),
    EventSpec(EventTypes.ACCOUNT_REAGED, Topics.BILLING, AccountReaged),
    EventSpec(EventTypes.PAYMENT_POSTED, Topics.PAYMENTS, PaymentPosted),
    EventSpec(EventTypes.PAYMENT_REVERSED, Topics.PAYMENTS, PaymentReversed),
    EventSpec(EventTypes.BUSINESS_DAY_CLOSED, Topics.CALENDAR, BusinessDayClosed),
    EventSpec(EventTypes.STAGE_CHANGED, Topics.DELINQUENCY, StageChanged),
    EventSpec(EventTypes.CONTACT_ATTEMPTED, Topics.CONTACT, ContactAttempted),
    EventSpec(EventTypes.PERMIT_BLOCKED, Topics.CONTACT, PermitBlocked),
    EventSpec(EventTypes.PROMISE_MADE, Topics.CONTACT, PromiseMade),
    EventSpec(EventTypes.PROMISE_KEPT, Topics.CONTACT, PromiseKept),
    EventSpec(EventTypes.PROMISE_BROKEN, Topics.CONTACT, PromiseBroken),
    EventSpec(EventTypes.HARDSHIP_REPORTED, Topics.CONTACT, HardshipReported),
    EventSpec(EventTypes.HOLD_SET, Topics.CONTACT, HoldSet),
    EventSpec(EventTypes.HOLD_ENDED, Topics.CONTACT, HoldEnded),
    EventSpec(EventTypes.DEBTOR_UNREACHABLE, Topics.CONTACT, DebtorUnreachable),
    EventSpec(EventTypes.COMPLAINT_RECEIVED, Topics.CONTACT, ComplaintReceived),
    EventSpec(EventTypes.LETTER_ISSUED, Topics.ESCALATION, LetterIssued),
    EventSpec(EventTypes.VISIT_SCHEDULED, Topics.ESCALATION, VisitScheduled),
    EventSpec(EventTypes.VISIT_COMPLETED, Topics.ESCALATION, VisitCompleted),
    EventSpec(EventTypes.RESTRUCTURING_OFFERED, Topics.ESCALATION, RestructuringOffered),
    EventSpec(EventTypes.RESTRUCTURING_AGREED, Topics.ESCALATION, RestructuringAgreed),
    EventSpec(EventTypes.CASE_PLACED, Topics.ESCALATION, CasePlaced),
    EventSpec(EventTypes.CASE_RECALLED, Topics.ESCALATION, CaseRecalled),
    EventSpec(EventTypes.LEGAL_OPENED, Topics.ESCALATION, LegalOpened),
    EventSpec(EventTypes.BUREAU_FLAGGED, Topics.ESCALATION, BureauFlagged),
    EventSpec(EventTypes.BUREAU_CLEARED, Topics.ESCALATION, BureauCleared),
    EventSpec(EventTypes.AGENCY_REGISTERED, Topics.AGENCY, AgencyRegistered),
    EventSpec(EventTypes.AGENCY_UPDATED, Topics.AGENCY, AgencyUpdated),
    EventSpec(EventTypes.ACTIVITY_REPORTED, Topics.AGENCY, ActivityReported),
    EventSpec(EventTypes.CASE_RETURNED, Topics.AGENCY, CaseReturned),
)

CATALOG: Final[Mapping[str, EventSpec]] = MappingProxyType({spec.type: spec for spec in _SPECS})
"""Every event type of the contract, by `type`."""

_BY_MODEL: Final[Mapping[type[EventData], EventSpec]] = MappingProxyType(
    {spec.model: spec for spec in _SPECS}
)


def spec_for(event_type: str) -> EventSpec:
    """The spec of an event type; `InvalidEvent` if the type is not in the contract."""
    try:
        return CATALOG[event_type]
    except KeyError:
        raise InvalidEvent(f"unknown type {event_type[:80]!r}") from None


def spec_of(model: type[EventData]) -> EventSpec:
    """The spec of a data model class (`KeyError` if it is not in the catalog)."""
    return _BY_MODEL[model]


@dataclass(frozen=True, slots=True)
class TypedEvent(Generic[D]):
    """A valid event: the envelope, and its `data` as the model of its type."""

    envelope: CloudEvent
    data: D


def validate(envelope: CloudEvent, *, topic: str | None = None) -> TypedEvent[EventData]:
    """Check an envelope's type (and topic, if given) and validate its `data`."""
    spec = spec_for(envelope.type)
    if topic is not None and topic != spec.topic:
        raise InvalidEvent(
            f"type {spec.type!r} does not belong on topic {topic!r} (it goes on {spec.topic!r})"
        )
    try:
        data = spec.model.model_validate(envelope.data)
    except ValidationError as exc:
        raise InvalidEvent(describe_errors(exc, prefix="data")) from None
    return TypedEvent(envelope=envelope, data=data)


def parse(raw: bytes, *, topic: str | None = None) -> TypedEvent[EventData]:
    """Decode and validate one Kafka record value; `InvalidEvent` says what is wrong."""
    return validate(decode(raw), topic=topic)

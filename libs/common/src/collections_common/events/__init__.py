"""The event contract: CloudEvents envelope, event models, topic catalog, AsyncAPI document.

Consume::

    event = parse(record.value, topic=record.topic)   # InvalidEvent(reason) -> DLQ
    match event.data:
        case PaymentPosted(): ...

Produce::

    encode(new_event(EventTypes.STAGE_CHANGED, "aging", account_id, StageChanged(...)))
"""

from ._base import PRINTABLE_PATTERN, EventData
from ._errors import InvalidEvent
from .agency import ActivityReported, AgencyRegistered, AgencyUpdated, CaseReturned, ReportedPromise
from .asyncapi import build_asyncapi, event_json_schema
from .catalog import (
    CATALOG,
    DLQ_HEADERS,
    EventSpec,
    EventTypes,
    Topics,
    TypedEvent,
    dlq_topic,
    parse,
    spec_for,
    spec_of,
    validate,
)
from .contact import (
    Channel,
    ComplaintReceived,
    ContactAttempted,
    ContactOutcome,
    DebtorUnreachable,
    HardshipReported,
    HoldEnded,
    HoldSet,
    Party,
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
    Address,
    BusinessDayClosed,
    Consents,
    Flags,
    Holder,
    PaymentPosted,
    PaymentReversed,
    Risk,
    StatementIssued,
)
from .delinquency import StageChangeCause, StageChanged
from .envelope import CloudEvent, decode, encode, new_event
from .escalation import (
    BureauCleared,
    BureauFlagged,
    CaseAccount,
    CasePlaced,
    CaseRecalled,
    ContactPoint,
    Instalment,
    LegalOpened,
    LetterIssued,
    PlacedDebtor,
    RecallReason,
    RestructuringAgreed,
    RestructuringOffered,
    VisitCompleted,
    VisitScheduled,
)

__all__ = [
    "CATALOG",
    "DLQ_HEADERS",
    "PRINTABLE_PATTERN",
    "AccountClosed",
    "AccountOpened",
    "AccountReaged",
    "AccountUpdated",
    "ActivityReported",
    "Address",
    "AgencyRegistered",
    "AgencyUpdated",
    "BureauCleared",
    "BureauFlagged",
    "BusinessDayClosed",
    "CaseAccount",
    "CasePlaced",
    "CaseRecalled",
    "CaseReturned",
    "Channel",
    "CloudEvent",
    "ComplaintReceived",
    "Consents",
    "ContactAttempted",
    "ContactOutcome",
    "ContactPoint",
    "DebtorUnreachable",
    "EventData",
    "EventSpec",
    "EventTypes",
    "Flags",
    "HardshipReported",
    "HoldEnded",
    "HoldSet",
    "Holder",
    "Instalment",
    "InvalidEvent",
    "LegalOpened",
    "LetterIssued",
    "Party",
    "PaymentPosted",
    "PaymentReversed",
    "PermitBlocked",
    "PlacedDebtor",
    "PromiseBroken",
    "PromiseKept",
    "PromiseMade",
    "RecallReason",
    "ReportedPromise",
    "RestructuringAgreed",
    "RestructuringOffered",
    "Risk",
    "StageChangeCause",
    "StageChanged",
    "StatementIssued",
    "Topics",
    "TypedEvent",
    "VisitCompleted",
    "VisitScheduled",
    "build_asyncapi",
    "decode",
    "dlq_topic",
    "encode",
    "event_json_schema",
    "new_event",
    "parse",
    "spec_for",
    "spec_of",
    "validate",
]

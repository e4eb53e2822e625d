"""The event contract: CloudEvents envelope, event models, topic catalog, AsyncAPI document.

Consume::

    event = parse(record.value, topic=record.topic)   # InvalidEvent(reason) -> DLQ
    match event.data:
        case PaymentPosted(): ...

Produce::

    encode(new_event(EventTypes.STAGE_CHANGED, "aging", account_id, StageChanged(...)))
"""

from ._base import EventData
from ._errors import InvalidEvent
from .asyncapi import build_asyncapi
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
from .delinquency import StageChanged
from .envelope import CloudEvent, decode, encode, new_event

__all__ = [
    "CATALOG",
    "DLQ_HEADERS",
    "AccountClosed",
    "AccountOpened",
    "AccountReaged",
    "AccountUpdated",
    "Address",
    "BusinessDayClosed",
    "CloudEvent",
    "Consents",
    "EventData",
    "EventSpec",
    "EventTypes",
    "Flags",
    "Holder",
    "InvalidEvent",
    "PaymentPosted",
    "PaymentReversed",
    "Risk",
    "StageChanged",
    "StatementIssued",
    "Topics",
    "TypedEvent",
    "build_asyncapi",
    "decode",
    "dlq_topic",
    "encode",
    "new_event",
    "parse",
    "spec_for",
    "spec_of",
    "validate",
]

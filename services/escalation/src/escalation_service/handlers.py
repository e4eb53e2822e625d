"""Use cases of the escalation service, one handler per event type, registered below."""

from collections_common.events import EventData
from collections_common.runtime import EventHandler, per_event

EVENT_HANDLERS: dict[type[EventData], EventHandler] = {}

handle_batch = per_event(EVENT_HANDLERS)

"""Per-event dispatch for services whose handlers take one event at a time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from collections_common.events import EventData
from collections_common.runtime.deliveries import Batch, Incoming
from collections_common.runtime.errors import BadInput
from collections_common.runtime.runner import BatchHandler

EventHandler = Callable[[Incoming, Batch], Awaitable[None]]


def per_event(handlers: Mapping[type[EventData], EventHandler]) -> BatchHandler:
    """A batch handler calling ``handlers[type(event.data)]`` for each event, in order.

    Valid events of a type the service has no handler for are recorded as seen and left alone;
    a handler raising :class:`BadInput` sends its event to the dead-letter topic, and what it
    wrote and emitted before raising is rolled back.
    """

    async def handle(batch: Batch) -> None:
        for incoming in batch.events:
            handler = handlers.get(type(incoming.event.data))
            if handler is None:
                continue
            added = len(batch.outbox)
            try:
                async with batch.session.begin_nested():
                    await handler(incoming, batch)
            except BadInput as exc:
                batch.outbox.truncate(added)  # what the rejected event caused goes with it
                batch.reject(incoming, exc.reason)

    return handle

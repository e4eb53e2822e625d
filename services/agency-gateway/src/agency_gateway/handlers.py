"""Use cases of the agency-gateway service, one handler per event type, registered below.

- ``collections.case.placed``: the case becomes visible to its agency, in its next pull; an agency
  that may not take new work (inactive, out of contract, past its annual review) gets nothing,
  and the placement is handed back at once (``collections.agency.case.returned``).
- ``collections.case.recalled``: the agency loses access at once.
- ``collections.stage.changed``: the current figures of a placed account, shown to its agency.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from agency_gateway.adapters.cases import PLACED, RECALLED, REFUSED, AccountFigures, Placements
from agency_gateway.adapters.registry import Agencies
from agency_gateway.metrics import PLACEMENTS
from agency_gateway.settings import AgencyGatewaySettings
from collections_common.events import EventData, EventTypes, Topics, new_event
from collections_common.events.agency import CaseReturned
from collections_common.events.delinquency import StageChanged
from collections_common.events.escalation import CasePlaced, CaseRecalled
from collections_common.runtime import Batch, EventHandler, Incoming, per_event

REFUSED_REASON = "the agency may not take new work: inactive, out of contract or past its annual review"


@functools.cache
def _source() -> str:
    return AgencyGatewaySettings().source


async def on_case_placed(incoming: Incoming, batch: Batch) -> None:
    placed = incoming.event.data
    assert isinstance(placed, CasePlaced)
    cases = Placements(batch.session)
    if await cases.get(placed.placement_id) is not None:
        return
    registry = Agencies(batch.session)
    agency = await registry.get(placed.agency_id)
    if agency is None or not agency.may_take_new_work(placed.placed_on):
        await cases.add(placed, status=REFUSED, sequence=0)
        returned = CaseReturned(
            agency_id=placed.agency_id,
            case_id=placed.case_id,
            placement_id=placed.placement_id,
            account_id=placed.account_id,
            customer_id=placed.customer_id,
            reason=REFUSED_REASON,
            at=datetime.now(UTC),
        )
        event = new_event(EventTypes.CASE_RETURNED, _source(), placed.case_id, returned)
        batch.outbox.add(Topics.AGENCY, event, key=placed.customer_id)
        PLACEMENTS.labels("refused").inc()
        return
    for other in await cases.active_of_case(placed.case_id):
        await cases.end(other.placement_id, status=RECALLED, reason="placed_elsewhere")
    sequence = await registry.next_sequence(placed.agency_id)
    assert sequence is not None  # the agency was just read in this transaction
    await cases.add(placed, status=PLACED, sequence=sequence)
    PLACEMENTS.labels("placed").inc()


async def on_case_recalled(incoming: Incoming, batch: Batch) -> None:
    recalled = incoming.event.data
    assert isinstance(recalled, CaseRecalled)
    if await Placements(batch.session).end(recalled.placement_id, status=RECALLED, reason=recalled.reason):
        PLACEMENTS.labels("recalled").inc()


async def on_stage_changed(incoming: Incoming, batch: Batch) -> None:
    changed = incoming.event.data
    assert isinstance(changed, StageChanged)
    cases = Placements(batch.session)
    registry = Agencies(batch.session)
    figures = AccountFigures(
        account_id=changed.account_id,
        stage=changed.to_stage,
        dpd=changed.dpd,
        past_due_minor=changed.past_due_minor,
        currency=changed.currency,
    )
    for placement_id, agency_id in await cases.active_with_account(changed.account_id):
        sequence = await registry.next_sequence(agency_id)
        if sequence is not None:
            await cases.update_figures(placement_id, figures, changed.as_of, sequence=sequence)


EVENT_HANDLERS: dict[type[EventData], EventHandler] = {
    CasePlaced: on_case_placed,
    CaseRecalled: on_case_recalled,
    StageChanged: on_stage_changed,
}

handle_batch = per_event(EVENT_HANDLERS)

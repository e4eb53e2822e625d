"""``/v1/cases/{customer_id}``: the debtor's case, its contact history, contact points and holds."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from collections_common.api import SessionDep, UnitOfWorkDep
from collections_common.audit import Actor, reads_of, record_reads
from collections_common.events import EventTypes, Topics, new_event
from collections_common.events import HoldEnded as HoldEndedEvent
from collections_common.events import HoldSet as HoldSetEvent
from collections_common.masking import mask_email, mask_phone
from collections_common.problems import Problem
from contact_service.adapters.cases import CaseRepository, HoldRow
from contact_service.adapters.permits import PermitRepository, PermitRow
from contact_service.adapters.promises import PromiseRepository
from contact_service.adapters.work import WorkRepository
from contact_service.api.cursors import decode_cursor, encode_cursor
from contact_service.api.deps import CaseReader, Collector, ContactConfigDep, Supervisor
from contact_service.api.schemas import (
    AccountPublic,
    CasePublic,
    ContactPointCreate,
    ContactPointPublic,
    ContactPublic,
    ContactsPublic,
    HoldCreate,
    HoldPublic,
    InboundPublic,
    PartyPublic,
    PlannedPublic,
    PromisePublic,
)
from contact_service.domain import case as cases_domain
from contact_service.domain.compliance import Hold
from contact_service.domain.contact import ADDRESS, Channel, ContactPoint
from contact_service.domain.errors import InvalidHold, OutcomeConflict, UnknownCase, UnknownThing
from contact_service.domain.localtime import local_day
from contact_service.treatment import cancel

router = APIRouter(prefix="/v1/cases", tags=["cases"])

CustomerId = Annotated[str, Path(min_length=1, max_length=64, description="the debtor's customer id")]
PROBLEMS: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "no case for this customer"}
}
Limit = Annotated[int, Query(ge=1, le=200)]


def masked(value: str) -> str:
    if value == ADDRESS:
        return value
    return mask_email(value) if "@" in value else mask_phone(value)


def contact_public(row: PermitRow, now: datetime) -> ContactPublic:
    return ContactPublic(
        permit_id=row.permit_id,
        account_id=row.account_id,
        channel=row.channel,
        contact_point=masked(row.contact_point),
        party=PartyPublic(kind=row.party_kind, id=row.party_id),
        at=row.at,
        allowed=row.allowed,
        rule=row.rule,
        outcome=row.outcome_as_of(now),
        recording_ref=row.recording_ref,
        requested_by=row.requested_by,
    )


def hold_public(row: HoldRow) -> HoldPublic:
    return HoldPublic(
        hold_id=row.hold_id,
        account_id=row.account_id,
        reason=row.reason,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        set_by=row.set_by,
        set_at=row.set_at,
        ended_on=row.ended_on,
        ended_by=row.ended_by,
    )


async def _contacts(
    repo: PermitRepository,
    customer_id: str,
    cursor: str | None,
    limit: int,
    channel: Channel | None,
    allowed: bool | None,
) -> ContactsPublic:
    after = decode_cursor(cursor, (datetime, str)) if cursor else None
    rows = await repo.page(
        customer_id,
        after=(after[0], after[1]) if after else None,
        limit=limit + 1,
        channel=channel.value if channel else None,
        allowed=allowed,
    )
    now = datetime.now(UTC)
    items = [contact_public(row, now) for row in rows[:limit]]
    last = rows[limit - 1] if len(rows) > limit else None
    return ContactsPublic(items=items, next_cursor=encode_cursor(last.at, last.permit_id) if last else None)


@router.get("/{customer_id}", response_model=CasePublic, responses=PROBLEMS)
async def get_case(
    *, customer_id: CustomerId, request: Request, session: SessionDep, caller: CaseReader, limit: Limit = 50
) -> CasePublic:
    """Accounts and stages, contact points (masked) with owner and source, flags, holds, promises,
    planned contacts and the latest contact history (``/contacts`` pages through all of it)."""
    cases = CaseRepository(session)
    record = await cases.load(customer_id)
    if not record.exists:
        raise UnknownCase()
    case = record.case
    accounts = await cases.accounts(customer_id)
    points = await cases.contact_points(customer_id)
    permits = PermitRepository(session)
    history = await _contacts(permits, customer_id, None, limit, None, None)
    inbound = await permits.inbound(customer_id)
    promises = await PromiseRepository(session).of_customer(customer_id)
    planned = await WorkRepository(session).planned_of(customer_id)
    await record_reads(
        session, reads_of(request, Actor.staff(caller), "customer", [customer_id], ["contact_points"])
    )
    await session.commit()
    return CasePublic(
        customer_id=customer_id,
        stage=record.stage,
        max_dpd=case.max_dpd,
        past_due_minor=dict(case.past_due_minor),
        timezone=case.profile.timezone,
        language=case.profile.language,
        unreachable=record.unreachable,
        risk_rating=case.profile.risk_rating,
        signals=sorted(case.profile.signals),
        flags=sorted(case.flags),
        accounts=[
            AccountPublic(
                account_id=a.account_id,
                stage=a.stage,
                dpd=a.dpd,
                past_due_minor=a.past_due_minor,
                currency=a.currency,
                flags=sorted(name for name, on in a.flags.items() if on),
            )
            for a in accounts
        ],
        contact_points=[
            ContactPointPublic(value=masked(p.value), owner=p.owner.value, source=p.source) for p in points
        ],
        holds=[hold_public(h) for h in await cases.holds(customer_id)],
        promises=[
            PromisePublic(
                promise_id=p.promise.promise_id,
                account_id=next(iter(p.promise.account_ids)),
                amount_minor=p.promise.amount_minor,
                currency=p.promise.currency,
                made_on=p.promise.made_on,
                due_on=p.promise.due_on,
                status=p.status,
                paid_minor=p.paid_minor,
            )
            for p in promises
        ],
        planned=[
            PlannedPublic(
                id=row.id,
                channel=row.channel,
                stage=row.stage,
                template=row.template,
                due_at=row.due_at,
                status=row.status,
                next_try_at=row.next_try_at,
                cancel_reason=reason,
            )
            for row, reason in planned
        ],
        inbound=[
            InboundPublic(
                contact_id=i.contact_id,
                customer_id=i.customer_id,
                account_id=i.account_id,
                channel=i.channel,
                at=i.at,
                outcome=i.outcome,
            )
            for i in inbound
        ],
        history=history,
    )


@router.get("/{customer_id}/contacts", response_model=ContactsPublic, responses=PROBLEMS)
async def list_contacts(
    *,
    customer_id: CustomerId,
    session: SessionDep,
    caller: CaseReader,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Limit = 50,
    channel: Channel | None = None,
    allowed: bool | None = None,
) -> ContactsPublic:
    """Every decision about the debtor and its outcome, newest first, page by page."""
    if not (await CaseRepository(session).load(customer_id)).exists:
        raise UnknownCase()
    return await _contacts(PermitRepository(session), customer_id, cursor, limit, channel, allowed)


@router.post(
    "/{customer_id}/contact-points", status_code=201, response_model=ContactPointPublic, responses=PROBLEMS
)
async def add_contact_point(
    *, customer_id: CustomerId, body: ContactPointCreate, uow: UnitOfWorkDep, caller: Collector
) -> ContactPointPublic:
    """Add a contact point with its owner and source (who added it is recorded)."""
    cases = CaseRepository(uow.session)
    await cases.lock(customer_id)
    if not (await cases.load(customer_id)).exists:
        raise UnknownCase()
    point = ContactPoint(body.value, body.owner, body.source)
    if not await cases.add_contact_point(customer_id, point, added_by=caller.subject):
        raise OutcomeConflict("the debtor already has this contact point for this owner")
    await uow.commit()
    return ContactPointPublic(value=masked(point.value), owner=point.owner.value, source=point.source)


@router.post("/{customer_id}/holds", status_code=201, response_model=HoldPublic, responses=PROBLEMS)
async def set_hold(
    *,
    customer_id: CustomerId,
    body: HoldCreate,
    uow: UnitOfWorkDep,
    config: ContactConfigDep,
    caller: Supervisor,
) -> HoldPublic:
    """Put the debtor on a hardship hold: every pending contact and call task is cancelled."""
    cases = CaseRepository(uow.session)
    await cases.lock(customer_id)
    record = await cases.load(customer_id)
    if not record.exists:
        raise UnknownCase()
    accounts = [a.account_id for a in await cases.accounts(customer_id)]
    account_id = body.account_id or (accounts[0] if accounts else None)
    if account_id is None or account_id not in accounts:
        raise UnknownThing("the case has no such account")
    now = datetime.now(UTC)
    today = local_day(now, record.case.compliance_facts().zone)
    if body.ends_on < (body.starts_on or today):
        raise InvalidHold("a hold ends on or after the day it starts")
    row = HoldRow(
        hold_id=str(uuid.uuid4()),
        account_id=account_id,
        reason=body.reason,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        set_by=caller.subject,
        set_at=now,
        ended_on=None,
        ended_by=None,
    )
    await cases.add_hold(customer_id, row)
    update = cases_domain.apply(
        record.case, cases_domain.HoldSet(Hold(body.reason, body.ends_on, body.starts_on))
    )
    if update.cancellation is not None:
        await cancel(uow.session, customer_id, update.cancellation)
    uow.outbox.add(
        Topics.CONTACT,
        new_event(
            EventTypes.HOLD_SET,
            config.settings.source,
            customer_id,
            HoldSetEvent(
                hold_id=row.hold_id,
                account_id=account_id,
                customer_id=customer_id,
                reason=body.reason,
                ends_on=body.ends_on,
                set_by=caller.subject,
                at=now,
            ),
        ),
        key=account_id,
    )
    await uow.commit()
    return hold_public(row)


@router.post("/{customer_id}/holds/{hold_id}/end", response_model=HoldPublic, responses=PROBLEMS)
async def end_hold(
    *,
    customer_id: CustomerId,
    hold_id: Annotated[str, Path(min_length=1, max_length=64)],
    uow: UnitOfWorkDep,
    config: ContactConfigDep,
    caller: Supervisor,
) -> HoldPublic:
    """Lift a hold before its end date."""
    cases = CaseRepository(uow.session)
    await cases.lock(customer_id)
    hold = await cases.hold(hold_id)
    if hold is None or hold_id not in {h.hold_id for h in await cases.holds(customer_id)}:
        raise UnknownThing("the case has no such hold")
    if hold.ended_on is not None:
        raise OutcomeConflict("the hold has already ended")
    now = datetime.now(UTC)
    record = await cases.load(customer_id)
    today = local_day(now, record.case.compliance_facts().zone)
    await cases.end_hold(hold_id, today, caller.subject)
    uow.outbox.add(
        Topics.CONTACT,
        new_event(
            EventTypes.HOLD_ENDED,
            config.settings.source,
            customer_id,
            HoldEndedEvent(
                hold_id=hold_id, account_id=hold.account_id, customer_id=customer_id, ended_on=today, at=now
            ),
        ),
        key=hold.account_id,
    )
    await uow.commit()
    ended = await cases.hold(hold_id)
    assert ended is not None
    return hold_public(ended)

"""``/v1/offers``: restructuring offers (collectors and supervisors)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from collections_common.api import SessionDep, UnitOfWorkDep
from collections_common.auth import Role, StaffPrincipal
from collections_common.problems import NotFound
from escalation_service import effects
from escalation_service.adapters.accounts import Accounts, BusinessClock
from escalation_service.adapters.offers import Offers, to_offer
from escalation_service.api.common import (
    ERRORS,
    Cursor,
    FilterId,
    Limit,
    ResourceId,
    SettingsDep,
    actor_of,
    decode_cursor,
    encode_cursor,
    staff,
)
from escalation_service.api.schemas import OfferCreate, OfferPublic, OffersPublic
from escalation_service.domain import restructuring
from escalation_service.domain.errors import InvalidOffer
from escalation_service.domain.restructuring import FeeReduction, Terms
from escalation_service.effects import Work
from escalation_service.metrics import ACTIONS, OFFERS, count_on_commit

router = APIRouter(prefix="/v1/offers", tags=["offers"])
Collectors = Annotated[StaffPrincipal, staff(Role.COLLECTOR, Role.SUPERVISOR)]
Status = Annotated[str | None, Query(pattern="^(offered|accepted|declined|expired|withdrawn|broken)$")]


def _public(row: Any) -> OfferPublic:
    return OfferPublic.model_validate(dict(row._mapping))


async def _load(repo: Offers, offer_id: str, *, lock: bool = False) -> Any:
    row = await repo.get(offer_id, lock=lock)
    if row is None:
        raise NotFound(f"no offer {offer_id}")
    return row


@router.get("", response_model=OffersPublic, responses=ERRORS)
async def list_offers(
    *,
    session: SessionDep,
    _: Collectors,
    status: Status = None,
    account_id: FilterId = None,
    customer_id: FilterId = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> OffersPublic:
    """Offers, newest first."""
    rows, last = await Offers(session).page(
        status=status,
        account_id=account_id,
        customer_id=customer_id,
        before=decode_cursor(cursor),
        limit=limit,
    )
    return OffersPublic(items=[_public(row) for row in rows], next_cursor=encode_cursor(last))


@router.get("/{offer_id}", response_model=OfferPublic, responses=ERRORS)
async def get_offer(*, offer_id: ResourceId, session: SessionDep, _: Collectors) -> OfferPublic:
    return _public(await _load(Offers(session), offer_id))


@router.post("", response_model=OfferPublic, status_code=201, responses=ERRORS)
async def make_offer(
    *, body: OfferCreate, uow: UnitOfWorkDep, who: Collectors, settings: SettingsDep
) -> OfferPublic:
    """Makes an offer on an account escalation knows; emits ``collections.restructuring.offered``."""
    account = await Accounts(uow.session).get(body.account_id)
    if account is None or account.customer_id is None or account.currency is None:
        raise NotFound(f"no delinquent account {body.account_id} known to escalation")
    reduction = None
    if body.fee_reduction_amount_minor is not None or body.fee_reduction_basis_points is not None:
        reduction = FeeReduction(body.fee_reduction_amount_minor, body.fee_reduction_basis_points)
    outstanding = body.outstanding_minor or account.past_due_minor
    if outstanding <= 0:
        raise InvalidOffer("the account has nothing past due: give outstanding_minor")
    today = await BusinessClock(uow.session).today()
    offer = restructuring.make_offer(
        effects.new_id("OFR"),
        account.account_id,
        account.customer_id,
        Terms(
            outstanding, body.instalments, body.fee_minor, body.first_due_date, account.currency, reduction
        ),
        offered_on=today,
        settings=settings.rules.restructuring,
        expires_on=body.expires_on,
    )
    work = Work(uow.session, uow.outbox, settings, today, actor_of(who))
    await effects.store_offer(work, offer, decision_key=None, rule_id="manual")
    await uow.commit()
    return _public(await _load(Offers(uow.session), offer.offer_id))


@router.post("/{offer_id}/accept", response_model=OfferPublic, responses=ERRORS)
async def accept_offer(
    *, offer_id: ResourceId, uow: UnitOfWorkDep, who: Collectors, settings: SettingsDep
) -> OfferPublic:
    """The debtor accepts: emits ``collections.restructuring.agreed`` and recalls a placement."""
    repo = Offers(uow.session)
    today = await BusinessClock(uow.session).today()
    _, agreement = restructuring.accept(to_offer(await _load(repo, offer_id, lock=True)), today)
    await effects.agree(Work(uow.session, uow.outbox, settings, today, actor_of(who)), agreement)
    await uow.commit()
    return _public(await _load(repo, offer_id))


@router.post("/{offer_id}/decline", response_model=OfferPublic, responses=ERRORS)
async def decline_offer(*, offer_id: ResourceId, uow: UnitOfWorkDep, who: Collectors) -> OfferPublic:
    repo = Offers(uow.session)
    today = await BusinessClock(uow.session).today()
    declined = restructuring.decline(to_offer(await _load(repo, offer_id, lock=True)), today)
    await repo.answer(offer_id, status="declined", on=today, by=actor_of(who))
    assert declined.status == "declined"
    count_on_commit(uow.session, ACTIONS.labels("restructuring_offer", "declined"))
    count_on_commit(uow.session, OFFERS.labels("declined"))
    await uow.commit()
    return _public(await _load(repo, offer_id))

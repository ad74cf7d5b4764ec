"""Cash routes for deposits and armored pickups (the schedule is for pickup planners only)."""

from __future__ import annotations

import random

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from bastion.api.deps import SessionDep
from bastion.cash import (
    pickups,
    views,
)
from bastion.cash.api.common import (
    PREFIX,
    HubDep,
    Manager,
    Planner,
    container_of,
    pickup_of,
    refused,
    settings_of,
    site_of,
)
from bastion.cash.schemas import (
    BankConfirmationCreate,
    CarrierCreate,
    CarrierRead,
    ContainerRead,
    DepositCreate,
    HandOver,
    PickupCancel,
    PickupCreate,
    PickupRead,
    PickupVerify,
)
from bastion.core.errors import Conflict

router = APIRouter(prefix=PREFIX, tags=["cash"])


@router.post("/deposits", response_model=ContainerRead, status_code=201)
def prepare_deposit(
    site_id: str, data: DepositCreate, session: SessionDep, hub: HubDep, principal: Manager
) -> ContainerRead | JSONResponse:
    """Seal cash from the vault into a deposit bag (a reused seal is refused and alarmed)."""
    site = site_of(session, site_id)
    result = pickups.prepare_deposit(
        session=session,
        site=site,
        amount_cents=data.amount_cents,
        bag_number=data.bag_number,
        seal_number=data.seal_number,
        context=principal.context(),
        now=hub.clock.now(),
    )
    if isinstance(result, pickups.Refused):
        return refused(result.reason, result.alarm_id)
    session.flush()
    return views.containers(session, site, [result], hide=set())[0]


@router.post("/deposits/{bag_id}/confirmation", response_model=ContainerRead)
def confirm_deposit(
    site_id: str,
    bag_id: str,
    data: BankConfirmationCreate,
    session: SessionDep,
    hub: HubDep,
    principal: Manager,
) -> ContainerRead:
    """Record the bank's figure for a bag; a difference raises an alarm."""
    site = site_of(session, site_id)
    bag = container_of(session, site_id, bag_id)
    pickups.confirm(
        session=session,
        site=site,
        bag=bag,
        amount_cents=data.amount_cents,
        reference=data.reference,
        context=principal.context(),
        now=hub.clock.now(),
    )
    session.flush()
    return views.containers(session, site, [bag], hide=set())[0]


@router.get("/carriers", response_model=list[CarrierRead])
def list_carriers(site_id: str, session: SessionDep, principal: Planner) -> list[CarrierRead]:
    """List the carrier companies."""
    site_of(session, site_id)
    return [
        CarrierRead(id=c.id, company=c.company)
        for c in pickups.list_carriers(session=session, site_id=site_id)
    ]


@router.post("/carriers", response_model=CarrierRead, status_code=201)
def add_carrier(
    site_id: str, data: CarrierCreate, session: SessionDep, hub: HubDep, principal: Planner
) -> CarrierRead:
    """Register a carrier company and its code word (stored as a keyed hash only)."""
    site_of(session, site_id)
    carrier = pickups.add_carrier(
        session=session,
        site_id=site_id,
        company=data.company,
        code_word=data.code_word,
        context=principal.context(),
        now=hub.clock.now(),
    )
    return CarrierRead(id=carrier.id, company=carrier.company)


@router.get("/pickups", response_model=list[PickupRead])
def list_pickups(site_id: str, session: SessionDep, principal: Planner) -> list[PickupRead]:
    """List pickups with their times and unused one-time codes (planners only)."""
    site_of(session, site_id)
    return views.pickup_list(session, pickups.list_pickups(session=session, site_id=site_id))


@router.post("/pickups", response_model=PickupRead, status_code=201)
def plan_pickup(
    site_id: str, data: PickupCreate, session: SessionDep, hub: HubDep, principal: Planner
) -> PickupRead:
    """Plan the next pickup at an unpredictable allowed time (``urgent``: the earliest)."""
    site = site_of(session, site_id)
    carrier = pickups.get_carrier(session=session, carrier_id=data.carrier_id)
    planned = pickups.plan(
        session=session,
        site=site,
        carrier=carrier,
        settings=settings_of(session, site_id),
        context=principal.context(),
        now=hub.clock.now(),
        urgent=data.urgent,
        rng=random.SystemRandom(),
    )
    session.flush()
    return views.pickup_list(session, [planned.pickup])[0]


@router.post("/pickups/{pickup_id}/verify", response_model=PickupRead)
def verify_carrier(
    site_id: str,
    pickup_id: str,
    data: PickupVerify,
    session: SessionDep,
    hub: HubDep,
    principal: Planner,
) -> PickupRead | JSONResponse:
    """Check the guard at the door; a failure is kept, alarmed and answered 409."""
    site = site_of(session, site_id)
    pickup = pickup_of(session, site_id, pickup_id)
    result = pickups.verify(
        session=session,
        site=site,
        pickup=pickup,
        company=data.company,
        guard_name=data.guard_name,
        one_time_code=data.one_time_code,
        code_word=data.code_word,
        id_number=data.id_number,
        settings=settings_of(session, site_id),
        context=principal.context(),
        now=hub.clock.now(),
    )
    if isinstance(result, pickups.Refused):
        return refused(result.reason, result.alarm_id)
    return views.pickup_list(session, [pickup])[0]


@router.post("/pickups/{pickup_id}/hand-over", response_model=PickupRead)
def hand_over(
    site_id: str,
    pickup_id: str,
    data: HandOver,
    session: SessionDep,
    hub: HubDep,
    principal: Planner,
) -> PickupRead | JSONResponse:
    """Hand the sealed bags to the verified carrier (a wrong seal is refused and alarmed)."""
    site = site_of(session, site_id)
    pickup = pickup_of(session, site_id, pickup_id)
    result = pickups.hand_over(
        session=session,
        site=site,
        pickup=pickup,
        seals=data.seals,
        settings=settings_of(session, site_id),
        context=principal.context(),
        now=hub.clock.now(),
    )
    if isinstance(result, pickups.Refused):
        return refused(result.reason, result.alarm_id)
    session.flush()
    return views.pickup_list(session, [pickup])[0]


@router.post("/pickups/{pickup_id}/cancel", response_model=PickupRead)
def cancel_pickup(
    site_id: str,
    pickup_id: str,
    data: PickupCancel,
    session: SessionDep,
    hub: HubDep,
    principal: Planner,
) -> PickupRead:
    """Cancel a scheduled pickup."""
    site_of(session, site_id)
    pickup = pickup_of(session, site_id, pickup_id)
    if pickup.status != "scheduled":
        raise Conflict(f"the pickup is {pickup.status}")
    pickups.cancel(
        session=session,
        pickup=pickup,
        reason=data.reason,
        context=principal.context(),
        now=hub.clock.now(),
    )
    return views.pickup_list(session, [pickup])[0]

"""Inventory routes for locations, items, packages and their movements."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from bastion.api.deps import SessionDep
from bastion.cash.runtime import clips_for
from bastion.inventory import catalog, movements, views
from bastion.inventory.api.common import PREFIX, Handler, HubDep, Manager, Reader, actor_of, site_of
from bastion.inventory.models import InvItem
from bastion.inventory.schemas import (
    AdjustBody,
    DestroyBody,
    ItemCreate,
    ItemRead,
    LocationCreate,
    LocationRead,
    MoveBody,
    MovementRead,
    PackageCreate,
    PackageDetail,
    PackageRead,
    StockRow,
)

router = APIRouter(prefix=PREFIX, tags=["inventory"])


@router.get("/locations", response_model=list[LocationRead])
def list_locations(site_id: str, session: SessionDep, principal: Reader) -> list[LocationRead]:
    """List the site's locations with their zones."""
    site = site_of(session, site_id)
    return [views.location(site, r) for r in catalog.locations(session, site_id)]


@router.post("/locations", response_model=LocationRead, status_code=201)
def create_location(
    site_id: str, data: LocationCreate, session: SessionDep, hub: HubDep, principal: Manager
) -> LocationRead:
    """Create a location mapped to one of the site's zones."""
    site = site_of(session, site_id)
    row = catalog.create_location(
        session=session,
        site=site,
        name=data.name,
        zone_id=data.zone_id,
        kind=data.kind,
        is_quarantine=data.is_quarantine,
        context=principal.context(),
        now=hub.clock.now(),
    )
    return views.location(site, row)


@router.get("/items", response_model=list[ItemRead])
def list_items(site_id: str, session: SessionDep, principal: Reader) -> list[ItemRead]:
    """List the site's products."""
    site_of(session, site_id)
    rows = session.execute(
        select(InvItem).where(InvItem.site_id == site_id).order_by(InvItem.name)
    ).scalars()
    return [ItemRead.model_validate(r, from_attributes=True) for r in rows]


@router.post("/items", response_model=ItemRead, status_code=201)
def create_item(
    site_id: str, data: ItemCreate, session: SessionDep, hub: HubDep, principal: Manager
) -> ItemRead:
    """Create a product."""
    site_of(session, site_id)
    row = catalog.create_item(
        session=session,
        site_id=site_id,
        name=data.name,
        unit=data.unit,
        category=data.category,
        unit_weight_g=data.unit_weight_g,
        strain=data.strain,
        unit_value_cents=data.unit_value_cents,
        context=principal.context(),
        now=hub.clock.now(),
    )
    return ItemRead.model_validate(row, from_attributes=True)


@router.get("/stock", response_model=list[StockRow])
def stock(site_id: str, session: SessionDep, principal: Reader) -> list[StockRow]:
    """Return stock on hand by zone, location and item."""
    return views.stock(session, site_of(session, site_id))


@router.get("/packages", response_model=list[PackageRead])
def list_packages(
    site_id: str,
    session: SessionDep,
    principal: Reader,
    location_id: str | None = None,
    status: Annotated[str | None, Query(max_length=16)] = "active",
) -> list[PackageRead]:
    """List packages (active ones by default, one location's when asked)."""
    site_of(session, site_id)
    rows = movements.packages(session, site_id, location_id=location_id, status=status or None)
    return views.packages(session, rows)


@router.post("/packages", response_model=PackageRead, status_code=201)
def create_package(
    site_id: str, data: PackageCreate, session: SessionDep, hub: HubDep, principal: Handler
) -> PackageRead:
    """Create a package under a new tag."""
    site = site_of(session, site_id)
    row = movements.create_package(
        session=session,
        site=site,
        site_id=site_id,
        tag=data.tag,
        item=catalog.get_item(session, site_id, data.item_id),
        quantity=data.quantity,
        unit=data.unit,
        actor=actor_of(session, principal),
        now=hub.clock.now(),
        location=catalog.get_location(session, site_id, data.location_id)
        if data.location_id
        else None,
    )
    session.flush()
    return views.packages(session, [row])[0]


@router.get("/packages/{package_id}", response_model=PackageDetail)
def get_package(
    site_id: str, package_id: str, session: SessionDep, principal: Reader
) -> PackageDetail:
    """Return a package and its history: who changed this tag, when, where."""
    row = movements.get_package(session, site_id, package_id)
    return views.detail(session, row, movements.history(session, row.id))


@router.post("/packages/{package_id}/move", response_model=MovementRead)
def move(
    site_id: str,
    package_id: str,
    data: MoveBody,
    session: SessionDep,
    hub: HubDep,
    principal: Handler,
) -> MovementRead:
    """Move a package; into or out of the vault above the threshold waits for a second person."""
    site = site_of(session, site_id)
    row = movements.move(
        session=session,
        site=site,
        package=movements.get_package(session, site_id, package_id),
        location=catalog.get_location(session, site_id, data.location_id),
        actor=actor_of(session, principal),
        now=hub.clock.now(),
        clips=clips_for(hub, site_id),
    )
    return views.movements(session, [row])[0]


@router.post("/packages/{package_id}/adjust", response_model=MovementRead)
def adjust(
    site_id: str,
    package_id: str,
    data: AdjustBody,
    session: SessionDep,
    hub: HubDep,
    principal: Handler,
) -> MovementRead:
    """Adjust a package's quantity with a reason (and a note when the reason needs one)."""
    site = site_of(session, site_id)
    row = movements.adjust(
        session=session,
        site=site,
        package=movements.get_package(session, site_id, package_id),
        delta=data.quantity,
        unit=data.unit,
        reason=data.reason,
        note=data.note,
        actor=actor_of(session, principal),
        now=hub.clock.now(),
        clips=clips_for(hub, site_id),
    )
    return views.movements(session, [row])[0]


@router.post("/packages/{package_id}/destroy", response_model=MovementRead)
def destroy(
    site_id: str,
    package_id: str,
    data: DestroyBody,
    session: SessionDep,
    hub: HubDep,
    principal: Handler,
) -> MovementRead:
    """Destroy product; above the threshold a second, badged person must confirm."""
    site = site_of(session, site_id)
    row = movements.destroy(
        session=session,
        site=site,
        package=movements.get_package(session, site_id, package_id),
        quantity=data.quantity,
        unit=data.unit,
        method=data.method,
        note=data.note,
        actor=actor_of(session, principal),
        now=hub.clock.now(),
        clips=clips_for(hub, site_id),
    )
    return views.movements(session, [row])[0]


@router.post("/movements/{movement_id}/confirm", response_model=MovementRead)
def confirm(
    site_id: str, movement_id: str, session: SessionDep, hub: HubDep, principal: Handler
) -> MovementRead:
    """Confirm a pending destruction or vault move as the second person."""
    site = site_of(session, site_id)
    row = movements.confirm(
        session=session,
        site=site,
        movement=movements.get_movement(session, site_id, movement_id),
        actor=actor_of(session, principal),
        now=hub.clock.now(),
    )
    return views.movements(session, [row])[0]

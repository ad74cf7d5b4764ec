"""Items, locations, plant batches, plants and harvests: the things packages refer to."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.core.context import Context, new_id
from bastion.core.errors import Conflict, InvalidInput, NotFound
from bastion.core.events import EVENT_INVENTORY_CONFIG, InventoryConfigPayload, make_event
from bastion.inventory import units
from bastion.inventory.models import (
    InvHarvest,
    InvItem,
    InvLocation,
    InvPackage,
    InvPlant,
    InvPlantBatch,
)
from bastion.site.schemas import Site
from bastion.store.ledger import stage

TAG = re.compile(r"^[0-9A-Z]{24}$")
"""A Metrc UID: 24 upper-case letters and digits (the per-facility prefix is data)."""
CCRS_ID = re.compile(r"^[0-9A-Za-z._-]{1,40}$")
"""A CCRS external identifier (the integrator's own key; Washington has no state tags)."""
LOCATION_KINDS = ("storage", "vault", "grow", "drying", "sales", "quarantine", "waste")
PHASES = ("Immature", "Vegetative", "Flowering")


def config_event(
    session: Session,
    site_id: str,
    target: str,
    context: Context,
    now: datetime,
    action: Literal["created", "updated"] = "created",
) -> None:
    """Stage the ``inventory.config`` event of a configuration change."""
    stage(
        session,
        make_event(
            EVENT_INVENTORY_CONFIG,
            InventoryConfigPayload(target=target, action=action),
            context=context,
            time=now,
            site=site_id,
        ),
    )


def check_tag(
    session: Session, tag: str, *, kind: Literal["package", "plant"], system: str = "metrc"
) -> str:
    """Refuse a malformed tag, or one already used (by any site) or used as the other type."""
    if system == "ccrs":
        clean = (tag or "").strip()
        if not CCRS_ID.match(clean):
            raise InvalidInput(f"tag {tag!r}: an identifier is 1–40 letters, digits, . _ or -")
    else:
        clean = (tag or "").strip().upper()
        if not TAG.match(clean):
            raise InvalidInput(f"tag {tag!r}: a tag is 24 letters and digits")
    if session.execute(select(InvPackage.id).where(InvPackage.tag == clean)).first():
        what = "this" if kind == "package" else "a package"
        raise Conflict(f"tag {clean}: already used by {what} package; tags are single-use")
    if session.execute(select(InvPlant.id).where(InvPlant.tag == clean)).first():
        raise Conflict(
            f"tag {clean}: already used by a plant"
            + ("" if kind == "plant" else "; a plant tag cannot label a package")
        )
    return clean


def create_location(
    *,
    session: Session,
    site: Site,
    name: str,
    context: Context,
    now: datetime,
    zone_id: str | None = None,
    kind: str = "storage",
    is_quarantine: bool = False,
) -> InvLocation:
    """Create a location of the site, mapped to one of its zones."""
    name = name.strip()
    if not name:
        raise InvalidInput("name: give the location a name")
    if kind not in LOCATION_KINDS:
        raise InvalidInput(f"kind: one of {', '.join(LOCATION_KINDS)}")
    if zone_id is not None:
        try:
            site.zone(zone_id)
        except KeyError:
            raise InvalidInput(f"zone_id: site {site.site.id} has no zone {zone_id!r}") from None
    sid = site.site.id
    if find_location(session, sid, name) is not None:
        raise Conflict(f"name: the site already has a location {name!r}")
    row = InvLocation(
        id=new_id(),
        site_id=sid,
        name=name[:120],
        zone_id=zone_id,
        kind=kind,
        is_quarantine=is_quarantine,
        created_at=now,
    )
    session.add(row)
    config_event(session, sid, f"location:{row.id}", context, now)
    return row


def find_location(session: Session, site_id: str, name: str) -> InvLocation | None:
    """Return the location of that name at the site, if any."""
    return session.execute(
        select(InvLocation).where(InvLocation.site_id == site_id, InvLocation.name == name)
    ).scalar_one_or_none()


def locations(session: Session, site_id: str) -> list[InvLocation]:
    """Return the site's locations by name."""
    return list(
        session.execute(
            select(InvLocation).where(InvLocation.site_id == site_id).order_by(InvLocation.name)
        ).scalars()
    )


def get_location(session: Session, site_id: str, location_id: str) -> InvLocation:
    """Return a location of this site or raise NotFound."""
    row = session.get(InvLocation, location_id)
    if row is None or row.site_id != site_id:
        raise NotFound(f"no location {location_id!r} at site {site_id}")
    return row


def create_item(
    *,
    session: Session,
    site_id: str,
    name: str,
    unit: str,
    context: Context,
    now: datetime,
    category: str = "",
    unit_weight_g: Decimal | None = None,
    strain: str | None = None,
    unit_value_cents: int = 0,
) -> InvItem:
    """Create a product; counted items may give their unit weight in grams."""
    name = name.strip()
    if not name:
        raise InvalidInput("name: give the item a name")
    u = units.unit(unit)
    if unit_value_cents < 0:
        raise InvalidInput("unit_value_cents: cannot be negative")
    if find_item(session, site_id, name) is not None:
        raise Conflict(f"name: the site already has an item {name!r}")
    row = InvItem(
        id=new_id(),
        site_id=site_id,
        name=name[:160],
        category=category[:80],
        unit=u,
        unit_weight_mg=(
            None if unit_weight_g is None else int(units.convert(unit_weight_g, "g", "mg"))
        ),
        strain=strain,
        unit_value_cents=unit_value_cents,
        created_at=now,
    )
    session.add(row)
    config_event(session, site_id, f"item:{row.id}", context, now)
    return row


def find_item(session: Session, site_id: str, name: str) -> InvItem | None:
    """Return the item of that name at the site, if any."""
    return session.execute(
        select(InvItem).where(InvItem.site_id == site_id, InvItem.name == name)
    ).scalar_one_or_none()


def get_item(session: Session, site_id: str, item_id: str) -> InvItem:
    """Return an item of this site or raise NotFound."""
    row = session.get(InvItem, item_id)
    if row is None or row.site_id != site_id:
        raise NotFound(f"no item {item_id!r} at site {site_id}")
    return row


def create_batch(
    *,
    session: Session,
    site_id: str,
    name: str,
    strain: str,
    count: int,
    context: Context,
    now: datetime,
    kind: str = "Clone",
    location_id: str | None = None,
) -> InvPlantBatch:
    """Plant a batch of ``count`` untracked young plants."""
    if count <= 0:
        raise InvalidInput("count: a batch has at least one plant")
    if kind not in ("Seed", "Clone"):
        raise InvalidInput("kind: Seed or Clone")
    row = InvPlantBatch(
        id=new_id(),
        site_id=site_id,
        name=name.strip()[:120],
        kind=kind,
        strain=strain,
        location_id=location_id,
        count=count,
        live_count=count,
        planted_at=now,
        external_ids={},
    )
    session.add(row)
    config_event(session, site_id, f"batch:{row.id}", context, now)
    return row


def tag_plants(
    *,
    session: Session,
    batch: InvPlantBatch,
    tags: list[str],
    context: Context,
    now: datetime,
    phase: str = "Vegetative",
) -> list[InvPlant]:
    """Give plants of a batch their tags (they stay live in the batch's counts)."""
    if phase not in PHASES:
        raise InvalidInput(f"phase: one of {', '.join(PHASES)}")
    tracked = session.execute(
        select(InvPlant.id).where(InvPlant.batch_id == batch.id, InvPlant.status == "active")
    ).all()
    if len(tracked) + len(tags) > batch.live_count:
        raise InvalidInput(f"tags: batch {batch.name} has only {batch.live_count} live plants")
    rows = []
    for tag in tags:
        clean = check_tag(session, tag, kind="plant")
        row = InvPlant(
            id=new_id(),
            site_id=batch.site_id,
            tag=clean,
            batch_id=batch.id,
            strain=batch.strain,
            phase=phase,
            location_id=batch.location_id,
            status="active",
            planted_at=now,
            external_ids={},
        )
        session.add(row)
        session.flush()
        rows.append(row)
    config_event(session, batch.site_id, f"batch:{batch.id}", context, now, "updated")
    return rows


def harvest(
    *,
    session: Session,
    site_id: str,
    name: str,
    plants: list[InvPlant],
    wet_weight: Decimal,
    unit: str,
    context: Context,
    now: datetime,
    location_id: str | None = None,
) -> InvHarvest:
    """Harvest plants: record the wet weight and move the plants out of the live count."""
    if not plants:
        raise InvalidInput("plants: a harvest needs at least one plant")
    if wet_weight <= 0:
        raise InvalidInput("wet_weight: must be more than 0")
    u = units.unit(unit)
    if units.dimension(u) != "mass":
        raise InvalidInput("unit: a harvest is weighed (g, kg, lb, oz)")
    stored = units.to_stored(wet_weight)
    row = InvHarvest(
        id=new_id(),
        site_id=site_id,
        name=name.strip()[:120],
        strain=plants[0].strain,
        unit=u,
        wet_weight=stored,
        current_weight=stored,
        plant_count=len(plants),
        location_id=location_id,
        started_at=now,
        external_ids={},
    )
    session.add(row)
    for plant in plants:
        if plant.status != "active":
            raise Conflict(f"plant {plant.tag}: is {plant.status}")
        plant.status, plant.harvest_id = "harvested", row.id
        batch = session.get(InvPlantBatch, plant.batch_id) if plant.batch_id else None
        if batch is not None:
            batch.live_count -= 1
            batch.harvested_count += 1
    config_event(session, site_id, f"harvest:{row.id}", context, now)
    return row


def record_waste(
    *, session: Session, harvest_row: InvHarvest, weight: Decimal, context: Context, now: datetime
) -> None:
    """Record harvest waste (it leaves the current weight)."""
    stored = units.to_stored(weight)
    if stored <= 0 or stored > harvest_row.current_weight:
        raise InvalidInput("weight: more than 0 and no more than what is left of the harvest")
    harvest_row.waste_weight += stored
    harvest_row.current_weight -= stored
    config_event(session, harvest_row.site_id, f"harvest:{harvest_row.id}", context, now, "updated")


def get_harvest(session: Session, site_id: str, harvest_id: str) -> InvHarvest:
    """Return a harvest of this site or raise NotFound."""
    row = session.get(InvHarvest, harvest_id)
    if row is None or row.site_id != site_id:
        raise NotFound(f"no harvest {harvest_id!r} at site {site_id}")
    return row

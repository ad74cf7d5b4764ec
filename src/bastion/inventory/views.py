"""Read models of the inventory for the API and the console: names, not ids."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastion.inventory import recon, units
from bastion.inventory.models import InvFinding, InvItem, InvLocation, InvMovement, InvPackage
from bastion.inventory.schemas import (
    FindingRead,
    LocationRead,
    MovementRead,
    PackageDetail,
    PackageRead,
    StockRow,
)
from bastion.site.schemas import Site


def zone_name(site: Site, zone_id: str | None) -> str | None:
    """Return a zone's display name (None when there is no such zone)."""
    if zone_id is None:
        return None
    try:
        return site.zone(zone_id).name
    except KeyError:
        return None


def location(site: Site, row: InvLocation) -> LocationRead:
    """Return a location for people."""
    return LocationRead(
        id=row.id,
        name=row.name,
        zone_id=row.zone_id,
        zone_name=zone_name(site, row.zone_id),
        kind=row.kind,
        is_quarantine=row.is_quarantine,
    )


def packages(session: Session, rows: Sequence[InvPackage]) -> list[PackageRead]:
    """Return packages with their item and location names."""
    items = dict(
        session.execute(
            select(InvItem.id, InvItem.name).where(InvItem.id.in_({r.item_id for r in rows}))
        ).all()
    )
    locs = {
        loc.id: loc
        for loc in session.execute(
            select(InvLocation).where(
                InvLocation.id.in_({r.location_id for r in rows if r.location_id})
            )
        ).scalars()
    }
    out = []
    for r in rows:
        loc = locs.get(r.location_id or "")
        out.append(
            PackageRead(
                id=r.id,
                tag=r.tag,
                item=str(items.get(r.item_id, "")),
                location=loc.name if loc else None,
                zone_id=loc.zone_id if loc else None,
                quantity=f"{units.from_stored(r.quantity).normalize():f}",
                unit=r.unit,
                status=r.status,
                on_hold=r.on_hold,
                source_tags=list(r.source_tags),
            )
        )
    return out


def movements(session: Session, rows: Sequence[InvMovement]) -> list[MovementRead]:
    """Return movements with location names."""
    ids = {r.from_location for r in rows} | {r.to_location for r in rows}
    names = dict(
        session.execute(
            select(InvLocation.id, InvLocation.name).where(InvLocation.id.in_(ids - {None}))
        ).all()
    )
    return [
        MovementRead(
            id=r.id,
            kind=r.kind,
            tag=r.tag,
            delta=f"{units.from_stored(r.delta).normalize():f}",
            unit=r.unit,
            quantity_after=f"{units.from_stored(r.quantity_after).normalize():f}",
            from_location=names.get(r.from_location) if r.from_location else None,
            to_location=names.get(r.to_location) if r.to_location else None,
            reason=r.reason or r.method,
            at=r.at,
            actor=r.actor,
            status=r.status,
            flags=list(r.flags),
            clip=r.clip,
        )
        for r in rows
    ]


def detail(session: Session, row: InvPackage, history: Sequence[InvMovement]) -> PackageDetail:
    """Return a package with its whole history."""
    base = packages(session, [row])[0]
    return PackageDetail(**base.model_dump(), history=movements(session, history))


def stock(session: Session, site: Site) -> list[StockRow]:
    """Return active stock by zone, location and item (sums in SQL)."""
    rows = session.execute(
        select(
            InvLocation.zone_id,
            InvLocation.name,
            InvItem.name,
            InvPackage.unit,
            func.count(),
            func.sum(InvPackage.quantity),
        )
        .join(InvItem, InvItem.id == InvPackage.item_id)
        .outerjoin(InvLocation, InvLocation.id == InvPackage.location_id)
        .where(InvPackage.site_id == site.site.id, InvPackage.status == "active")
        .group_by(InvLocation.zone_id, InvLocation.name, InvItem.name, InvPackage.unit)
    ).all()
    out = [
        StockRow(
            zone_id=zone,
            zone=zone_name(site, zone) or "No zone",
            location=place or "Nowhere recorded",
            item=item,
            packages=int(n),
            quantity=f"{units.from_stored(int(total or 0)).normalize():f}",
            unit=unit,
        )
        for zone, place, item, unit, n, total in rows
    ]
    return sorted(out, key=lambda r: (r.zone, r.location, r.item))


def finding(row: InvFinding) -> FindingRead:
    """Return a finding for people."""
    return FindingRead(
        id=row.id,
        check=row.check,
        check_label=recon.CHECK_LABEL.get(row.check, row.check),
        severity=row.severity,
        message=row.message,
        threshold=row.threshold,
        evidence=list(row.evidence),
        status=row.status,
        alarm_id=row.alarm_id,
        notice_due_at=row.notice_due_at,
        created_at=row.created_at,
    )

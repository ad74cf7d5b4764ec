"""Packages and the one way their quantities change: posting a movement.

Every change (create, move, adjust, sale, destroy, ship, receive) writes an append-only
``inv_movements`` row and its ``inventory.movement`` ledger event in the same transaction.
A quantity never goes negative. Movements touching a restricted or vault zone are judged
by :mod:`.security`; a flagged one raises the diversion alarm with the zone's clip.
Destruction and vault moves above the dual-control threshold stay *pending* (nothing
changes) until a second, different person who badged into the zone confirms them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bastion.cash.counts import person_of_user
from bastion.core.context import Context, new_id
from bastion.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from bastion.core.events import EVENT_INVENTORY_MOVEMENT, InventoryMovementPayload, make_event
from bastion.core.ports import ClipSource
from bastion.inventory import catalog, security, units
from bastion.inventory.models import InvHarvest, InvItem, InvLocation, InvMovement, InvPackage
from bastion.inventory.settings import DEFAULT, InventorySettings
from bastion.site.schemas import Site
from bastion.store.ledger import stage

ADJUST_REASONS = (
    "Drying",
    "Entry Error",
    "Theft",
    "Lost",
    "Seizure",
    "Reconciliation",
    "Returned Lab Sample",
    "Mandatory State Destruction",
    "Other",
)
NOTE_REQUIRED = {"Theft", "Lost", "Seizure", "Entry Error", "Other", "Reconciliation"}
DESTROY_METHODS = ("Grinding", "Composting", "Incinerator", "Mixed with waste", "Other")


@dataclass(frozen=True)
class Actor:
    """Who does it: the operator account (if any) and the cardholder it maps to.

    Only people are judged against the doors: imports and the system move no product
    physically (their movements mirror what a person already did and was judged for).
    """

    context: Context
    user_id: int | None = None
    person_id: str | None = None

    @classmethod
    def of_user(cls, session: Session, context: Context, user_id: int | None) -> Actor:
        """Return the actor of an operator account, resolving its cardholder."""
        person = person_of_user(session, user_id) if user_id is not None else None
        return cls(context, user_id, person)


def get_package(session: Session, site_id: str, package_id: str) -> InvPackage:
    """Return a package of this site or raise NotFound."""
    row = session.get(InvPackage, package_id)
    if row is None or row.site_id != site_id:
        raise NotFound(f"no package {package_id!r} at site {site_id}")
    return row


def by_tag(session: Session, site_id: str, tag: str) -> InvPackage:
    """Return the site's package with that tag or raise NotFound."""
    row = session.execute(
        select(InvPackage).where(
            InvPackage.site_id == site_id, InvPackage.tag.in_((tag, tag.upper()))
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"tag {tag}: no package with this tag at site {site_id}")
    return row


def _zone(session: Session, location_id: str | None) -> str | None:
    if location_id is None:
        return None
    loc = session.get(InvLocation, location_id)
    return loc.zone_id if loc is not None else None


def _event(row: InvMovement, context: Context, status: str = "") -> InventoryMovementPayload:
    return InventoryMovementPayload(
        movement_id=row.id,
        kind=row.kind,
        tag=row.tag,
        delta=str(units.from_stored(row.delta)),
        unit=row.unit,
        from_location=row.from_location,
        to_location=row.to_location,
        reason=row.reason or row.method,
        subject=row.person_id,
        witness=row.witness_person_id,
        status=status or row.status,
        flags=tuple(row.flags),
    )


def _stage(
    session: Session, row: InvMovement, context: Context, now: datetime, status: str = ""
) -> None:
    event = make_event(
        EVENT_INVENTORY_MOVEMENT,
        _event(row, context, status),
        context=context,
        time=now,
        site=row.site_id,
    )
    stage(session, event)
    if not row.event_id:
        row.event_id = event.id


def needs_two(package: InvPackage, quantity: int, settings: InventorySettings) -> bool:
    """Return True when moving/destroying ``quantity`` of the package needs a second person."""
    q = units.from_stored(abs(quantity))
    dim = units.dimension(package.unit)
    if dim == "mass":
        return units.convert(q, package.unit, "g") > settings.dual_over_g
    if dim == "volume":
        return units.convert(q, package.unit, "ml") > settings.dual_over_ml
    return q > settings.dual_over_each


def post(
    *,
    session: Session,
    site: Site | None,
    package: InvPackage,
    kind: str,
    delta: int,
    actor: Actor,
    now: datetime,
    settings: InventorySettings = DEFAULT,
    to_location: str | None = None,
    reason: str = "",
    note: str | None = None,
    method: str = "",
    dual: bool = False,
    reference: dict[str, str] | None = None,
    clips: ClipSource | None = None,
    judge: bool = True,
) -> InvMovement:
    """Record one movement (and its event); change the package unless it waits for a second person."""
    if package.status not in ("active", "in_transit") and kind != "receive":
        raise Conflict(f"tag {package.tag}: the package is {package.status}")
    after = package.quantity + delta
    if after < 0:
        raise InvalidInput(
            f"tag {package.tag}: quantity would go negative "
            f"({units.text(package.quantity, package.unit)} on hand, "
            f"change {units.text(delta, package.unit)})"
        )
    source_loc = package.location_id
    target_loc = to_location or package.location_id
    verdict = security.Verdict((), None, None)
    if judge and (actor.user_id is not None or actor.person_id is not None):
        verdict = security.check(
            session,
            site=site,
            zones=(_zone(session, source_loc), _zone(session, target_loc)),
            person_id=actor.person_id,
            now=now,
            settings=settings,
            clips=clips,
        )
    pending = dual and needs_two(package, delta or package.quantity, settings)
    row = InvMovement(
        id=new_id(),
        site_id=package.site_id,
        kind=kind,
        package_id=package.id,
        tag=package.tag,
        delta=delta,
        unit=package.unit,
        quantity_after=package.quantity if pending else after,
        from_location=source_loc,
        to_location=target_loc if target_loc != source_loc else None,
        reason=reason,
        note=note,
        method=method,
        at=now,
        actor=actor.context.actor,
        user_id=actor.user_id,
        person_id=actor.person_id,
        status="pending" if pending else "posted",
        flags=list(verdict.flags),
        clip=verdict.clip,
        reference=dict(reference or {}),
        event_id="",
    )
    session.add(row)
    _stage(session, row, actor.context, now)
    if not pending:
        _apply(package, row, now)
    if verdict.flags:
        security.alarm(
            session,
            site=site,
            site_id=package.site_id,
            message=f"{kind} of {package.tag} flagged: {', '.join(verdict.flags)}",
            verdict=verdict,
            context=actor.context,
            now=now,
        )
    return row


def _apply(package: InvPackage, row: InvMovement, now: datetime) -> None:
    package.quantity += row.delta
    if row.to_location:
        package.location_id = row.to_location
    if row.kind == "destroy" and package.quantity == 0:
        package.status = "destroyed"
    elif row.kind == "ship":
        package.status = "in_transit"
    elif row.kind == "receive":
        package.status = "active"
    package.updated_at = now


def confirm(
    *,
    session: Session,
    site: Site | None,
    movement: InvMovement,
    actor: Actor,
    now: datetime,
    settings: InventorySettings = DEFAULT,
) -> InvMovement:
    """Confirm a pending movement as the second, different person who badged into the zone."""
    if movement.status != "pending":
        raise Conflict(
            f"this {movement.kind} is {movement.status}, not waiting for a second person"
        )
    if actor.user_id is not None and actor.user_id == movement.user_id:
        raise Forbidden("a second, different person must confirm")
    if actor.person_id is not None and actor.person_id == movement.person_id:
        raise Forbidden("a second, different person must confirm")
    package = session.get(InvPackage, movement.package_id)
    if package is None:
        raise NotFound("the package of this movement is gone")
    verdict = security.check(
        session,
        site=site,
        zones=(_zone(session, movement.from_location), _zone(session, movement.to_location)),
        person_id=actor.person_id,
        now=now,
        settings=settings,
    )
    if any(f.startswith("no_badge") for f in verdict.flags):
        raise Forbidden("the second person must have badged into the zone to confirm")
    if package.quantity + movement.delta < 0:
        raise InvalidInput(f"tag {package.tag}: quantity would go negative")
    movement.status = "confirmed"
    movement.witness_person_id = actor.person_id
    movement.quantity_after = package.quantity + movement.delta
    _apply(package, movement, now)
    _stage(session, movement, actor.context, now, "confirmed")
    return movement


def get_movement(session: Session, site_id: str, movement_id: str) -> InvMovement:
    """Return a movement of this site or raise NotFound."""
    row = session.get(InvMovement, movement_id)
    if row is None or row.site_id != site_id:
        raise NotFound(f"no movement {movement_id!r} at site {site_id}")
    return row


def create_package(
    *,
    session: Session,
    site: Site | None,
    site_id: str,
    tag: str,
    item: InvItem,
    quantity: Decimal,
    unit: str,
    actor: Actor,
    now: datetime,
    location: InvLocation | None = None,
    sources: Sequence[tuple[InvPackage, Decimal]] = (),
    harvest_row: InvHarvest | None = None,
    settings: InventorySettings = DEFAULT,
    external_ids: dict[str, str] | None = None,
    reference: dict[str, str] | None = None,
    judge: bool = True,
    system: str = "metrc",
) -> InvPackage:
    """Create a package under a new tag, from source packages or a harvest (lineage)."""
    clean = catalog.check_tag(session, tag, kind="package", system=system)
    u = units.unit(unit)
    if quantity <= 0:
        raise InvalidInput(f"tag {clean}: quantity must be more than 0")
    if units.dimension(u) != units.dimension(item.unit) and item.unit_weight_mg is None:
        raise InvalidInput(f"tag {clean}: unit {u} does not fit item {item.name} ({item.unit})")
    stored = units.to_stored(quantity)
    if harvest_row is not None:
        used = units.to_stored(units.convert(quantity, u, harvest_row.unit))
        if used > harvest_row.current_weight:
            raise InvalidInput(f"tag {clean}: more than what is left of harvest {harvest_row.name}")
        harvest_row.current_weight -= used
        harvest_row.packaged_weight += used
    package = InvPackage(
        id=new_id(),
        site_id=site_id,
        tag=clean,
        item_id=item.id,
        location_id=location.id if location else None,
        quantity=0,
        initial_quantity=stored,
        unit=u,
        status="active",
        on_hold=False,
        source_tags=[p.tag for p, _ in sources],
        harvest_id=harvest_row.id if harvest_row else None,
        external_ids=dict(external_ids or {}),
        created_at=now,
        updated_at=now,
    )
    session.add(package)
    session.flush()
    for source, used_qty in sources:
        taken = units.to_stored(units.convert(used_qty, u, source.unit))
        post(
            session=session,
            site=site,
            package=source,
            kind="consume",
            delta=-taken,
            actor=actor,
            now=now,
            settings=settings,
            reference={"child": clean},
            judge=judge,
        )
    post(
        session=session,
        site=site,
        package=package,
        kind="create",
        delta=stored,
        actor=actor,
        now=now,
        settings=settings,
        reference=reference,
        judge=judge,
    )
    return package


def move(
    *,
    session: Session,
    site: Site | None,
    package: InvPackage,
    location: InvLocation,
    actor: Actor,
    now: datetime,
    settings: InventorySettings = DEFAULT,
    clips: ClipSource | None = None,
) -> InvMovement:
    """Move a package to another location; into or out of the vault may need two people."""
    if location.site_id != package.site_id:
        raise InvalidInput("location: belongs to another site")
    if location.id == package.location_id:
        raise InvalidInput("location: the package is already there")
    src = session.get(InvLocation, package.location_id) if package.location_id else None
    vault = location.kind == "vault" or (src is not None and src.kind == "vault")
    return post(
        session=session,
        site=site,
        package=package,
        kind="move",
        delta=0,
        actor=actor,
        now=now,
        settings=settings,
        to_location=location.id,
        dual=vault and needs_two(package, package.quantity, settings),
        clips=clips,
    )


def adjust(
    *,
    session: Session,
    site: Site | None,
    package: InvPackage,
    delta: Decimal,
    unit: str,
    reason: str,
    actor: Actor,
    now: datetime,
    note: str | None = None,
    settings: InventorySettings = DEFAULT,
    clips: ClipSource | None = None,
) -> InvMovement:
    """Adjust a package's quantity by a signed amount, with a reason (and a note when required)."""
    if reason not in ADJUST_REASONS:
        raise InvalidInput(f"reason: {reason!r} is not one of {', '.join(ADJUST_REASONS)}")
    if reason in NOTE_REQUIRED and not (note or "").strip():
        raise InvalidInput(f"note: the reason {reason} needs a note")
    if delta == 0:
        raise InvalidInput("quantity: an adjustment changes the quantity")
    change = units.to_stored(units.convert(delta, units.unit(unit), package.unit))
    return post(
        session=session,
        site=site,
        package=package,
        kind="adjust",
        delta=change,
        actor=actor,
        now=now,
        settings=settings,
        reason=reason,
        note=(note or "").strip() or None,
        clips=clips,
    )


def destroy(
    *,
    session: Session,
    site: Site | None,
    package: InvPackage,
    quantity: Decimal,
    unit: str,
    method: str,
    actor: Actor,
    now: datetime,
    note: str | None = None,
    settings: InventorySettings = DEFAULT,
    clips: ClipSource | None = None,
) -> InvMovement:
    """Destroy product (method and note); above the threshold a witness must confirm."""
    if method not in DESTROY_METHODS:
        raise InvalidInput(f"method: one of {', '.join(DESTROY_METHODS)}")
    if quantity <= 0:
        raise InvalidInput("quantity: must be more than 0")
    change = units.to_stored(units.convert(quantity, units.unit(unit), package.unit))
    return post(
        session=session,
        site=site,
        package=package,
        kind="destroy",
        delta=-change,
        actor=actor,
        now=now,
        settings=settings,
        method=method,
        note=(note or "").strip() or None,
        dual=True,
        clips=clips,
    )


def history(session: Session, package_id: str) -> list[InvMovement]:
    """Return a package's movements, oldest first (who changed this tag and when)."""
    return list(
        session.execute(
            select(InvMovement)
            .where(InvMovement.package_id == package_id)
            .order_by(InvMovement.at, InvMovement.id)
        ).scalars()
    )


def packages(
    session: Session, site_id: str, *, location_id: str | None = None, status: str | None = "active"
) -> list[InvPackage]:
    """Return the site's packages (active by default), by tag."""
    stmt = select(InvPackage).where(InvPackage.site_id == site_id)
    if location_id is not None:
        stmt = stmt.where(InvPackage.location_id == location_id)
    if status is not None:
        stmt = stmt.where(InvPackage.status == status)
    return list(session.execute(stmt.order_by(InvPackage.tag)).scalars())


@dataclass(frozen=True)
class NewPackage:
    """A package to create in bulk (an import): its tag already checked free and well formed."""

    tag: str
    item_id: str
    unit: str
    quantity: int
    location_id: str | None = None
    created_at: datetime | None = None
    source_tags: tuple[str, ...] = ()
    on_hold: bool = False
    status: str = "active"
    external_ids: dict[str, str] | None = None


def create_many(
    *, session: Session, site_id: str, specs: Sequence[NewPackage], actor: Actor, now: datetime
) -> list[str]:
    """Create imported packages with their ``create`` movements and events in one go.

    The same rows and ledger events as :func:`create_package`, written together (an
    import mirrors what people already did, so it is not judged against the doors).
    Rows go in as two multi-row inserts of plain values (no ORM objects to build and
    track: a state file holds thousands of packages); returns the new package ids.
    """
    packages: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    events = []
    ctx = actor.context
    for spec in specs:
        if spec.quantity < 0:
            raise InvalidInput(f"tag {spec.tag}: quantity cannot be negative")
        package_id, movement_id = new_id(), new_id()
        external = dict(spec.external_ids or {})
        event = make_event(
            EVENT_INVENTORY_MOVEMENT,
            InventoryMovementPayload(
                movement_id=movement_id,
                kind="create",
                tag=spec.tag,
                delta=str(units.from_stored(spec.quantity)),
                unit=spec.unit,
                from_location=spec.location_id,
                to_location=None,
                reason="",
                subject=actor.person_id,
                witness=None,
                status="posted",
                flags=(),
            ),
            context=ctx,
            time=now,
            site=site_id,
        )
        packages.append(
            {
                "id": package_id,
                "site_id": site_id,
                "tag": spec.tag,
                "item_id": spec.item_id,
                "location_id": spec.location_id,
                "quantity": spec.quantity,
                "initial_quantity": spec.quantity,
                "unit": spec.unit,
                "status": spec.status,
                "on_hold": spec.on_hold,
                "source_tags": list(spec.source_tags),
                "harvest_id": None,
                "external_ids": external,
                "created_at": spec.created_at or now,
                "updated_at": now,
            }
        )
        rows.append(
            {
                "id": movement_id,
                "site_id": site_id,
                "kind": "create",
                "package_id": package_id,
                "tag": spec.tag,
                "delta": spec.quantity,
                "unit": spec.unit,
                "quantity_after": spec.quantity,
                "from_location": spec.location_id,
                "to_location": None,
                "reason": "",
                "note": None,
                "method": "",
                "at": now,
                "actor": ctx.actor,
                "user_id": actor.user_id,
                "person_id": actor.person_id,
                "witness_person_id": None,
                "status": "posted",
                "flags": [],
                "clip": None,
                "reference": dict(external),
                "event_id": event.id,
            }
        )
        events.append(event)
    if packages:
        session.execute(insert(InvPackage), packages)
        session.execute(insert(InvMovement), rows)
    stage(session, *events)
    return [p["id"] for p in packages]

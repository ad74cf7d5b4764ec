"""Transport services: vehicles, drivers, routes, trips and their manifests, alarms.

Keyword-only functions taking a session; only the unit of work commits. A trip is
planned (route and time chosen by :mod:`bastion.transport.planner` unless given), its
crew checked (licence, background check, two people for cash runs and in states that
require it), and its manifest frozen at departure. A change refused after departure
is returned as :class:`Refused` so the caller commits the ledgered refusal.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.alarms import service as alarms_service
from bastion.alarms.service import AlarmSpec
from bastion.alarms.sop import SopCatalogue, load_sops
from bastion.cash.models import CashContainer
from bastion.core.context import Context, new_id
from bastion.core.errors import Conflict, InvalidInput, NotFound
from bastion.core.events import (
    EVENT_NOTIFY,
    EVENT_TRANSPORT_CONFIG,
    EVENT_TRANSPORT_TRIP,
    NotifyPayload,
    TransportConfigPayload,
    TransportTripPayload,
    make_event,
)
from bastion.people.employees import background_current
from bastion.people.models import Person
from bastion.site.schemas import Site
from bastion.store.ledger import stage
from bastion.transport import planner
from bastion.transport.geometry import check_point, route_points
from bastion.transport.models import Driver, ManifestLine, Route, Trip, Vehicle

TWO_PERSON_STATES = frozenset({"MI", "MA"})
LINE_KINDS = ("package", "cash_bag", "free")
PRIORITY = {
    "panic": 1,
    "compartment_opened": 1,
    "deviation": 2,
    "tracker_silent": 2,
    "unscheduled_stop": 2,
    "overdue": 2,
    "manifest_mismatch": 2,
}
CALL_TREE = "transport"


@dataclass
class Refused:
    """A change that was refused and ledgered (the caller commits and answers 409)."""

    reason: str


@dataclass(frozen=True)
class LineIn:
    """A manifest line as given by the dispatcher."""

    kind: str
    description: str
    quantity: float
    unit: str
    ref: str = ""
    seal: str = ""


# --- events ----------------------------------------------------------------------------------


def trip_event(
    session: Session,
    trip: Trip,
    action: str,
    context: Context,
    now: datetime,
    *,
    kind: str = "",
    reason: str = "",
) -> None:
    """Stage a trip milestone in the ledger."""
    stage(
        session,
        make_event(
            EVENT_TRANSPORT_TRIP,
            TransportTripPayload(
                trip_id=trip.id,
                action=action,
                vehicle_id=trip.vehicle_id,
                kind=kind,
                digest=trip.manifest_digest or "",
                reason=reason,
            ),
            context=context,
            time=now,
            site=trip.site_id,
        ),
    )


def _config(session: Session, site_id: str, target: str, context: Context, now: datetime) -> None:
    stage(
        session,
        make_event(
            EVENT_TRANSPORT_CONFIG,
            TransportConfigPayload(target=target, action="created"),
            context=context,
            time=now,
            site=site_id,
        ),
    )


# --- registry --------------------------------------------------------------------------------


def add_vehicle(
    *,
    session: Session,
    site_id: str,
    name: str,
    plate: str,
    tracker_id: str,
    unmarked: bool = True,
    description: str = "",
    compartment_sensor: str | None = None,
    context: Context,
    now: datetime,
) -> Vehicle:
    """Register a vehicle and its tracker (a tracker id belongs to one vehicle)."""
    name, plate, tracker_id = name.strip(), plate.strip().upper(), tracker_id.strip()
    if not name or not plate or not tracker_id:
        raise InvalidInput("give the vehicle's name, plate and tracker id")
    taken = session.scalar(select(Vehicle.id).where(Vehicle.tracker_id == tracker_id))
    if taken is not None:
        raise Conflict(f"tracker {tracker_id!r} is already fitted to another vehicle")
    vehicle = Vehicle(
        id=new_id(),
        site_id=site_id,
        name=name[:120],
        plate=plate[:32],
        description=description.strip()[:120],
        unmarked=unmarked,
        tracker_id=tracker_id[:128],
        compartment_sensor=compartment_sensor,
        active=True,
        created_at=now,
        created_by=context.actor,
    )
    session.add(vehicle)
    _config(session, site_id, f"vehicle:{vehicle.id}", context, now)
    return vehicle


def add_driver(
    *,
    session: Session,
    site_id: str,
    person_id: str,
    licence_number: str,
    licence_expires_on: date,
    context: Context,
    now: datetime,
) -> Driver:
    """Register a driver: an employee of the site with a current background check."""
    person = session.get(Person, person_id)
    if person is None or person.site_id not in (site_id, None):
        raise NotFound(f"no person {person_id!r} at site {site_id}")
    if not background_current(person, now.date()):
        raise Conflict(f"{person.name} has no current background check; drivers must be cleared")
    if not licence_number.strip():
        raise InvalidInput("give the driver's occupational licence number")
    if licence_expires_on <= now.date():
        raise InvalidInput("the licence has expired")
    driver = Driver(
        id=new_id(),
        site_id=site_id,
        person_id=person_id,
        licence_number=licence_number.strip()[:64],
        licence_expires_on=licence_expires_on,
        active=True,
        created_at=now,
    )
    session.add(driver)
    _config(session, site_id, f"driver:{driver.id}", context, now)
    return driver


def add_route(
    *,
    session: Session,
    site_id: str,
    name: str,
    destination: str,
    points: Sequence[Sequence[float]],
    width_m: int,
    context: Context,
    now: datetime,
) -> Route:
    """Store an alternative route to a destination: a polyline [lon, lat] and a width in m."""
    clean = route_points(points)
    if not 20 <= width_m <= 5000:
        raise InvalidInput("the corridor width must be between 20 m and 5,000 m")
    if not name.strip() or not destination.strip():
        raise InvalidInput("give the route's name and destination")
    route = Route(
        id=new_id(),
        site_id=site_id,
        name=name.strip()[:120],
        destination=destination.strip()[:120],
        points=[[lon, lat] for lon, lat in clean],
        width_m=width_m,
        active=True,
        created_at=now,
    )
    session.add(route)
    _config(session, site_id, f"route:{route.id}", context, now)
    return route


def _of_site(row: Any, site_id: str, what: str, row_id: str) -> Any:
    if row is None or row.site_id != site_id:
        raise NotFound(f"no {what} {row_id!r} at site {site_id}")
    return row


def get_vehicle(*, session: Session, site_id: str, vehicle_id: str) -> Vehicle:
    """Return a vehicle of the site (NotFound otherwise)."""
    return _of_site(session.get(Vehicle, vehicle_id), site_id, "vehicle", vehicle_id)  # type: ignore[no-any-return]


def get_route(*, session: Session, site_id: str, route_id: str) -> Route:
    """Return a stored route of the site (NotFound otherwise)."""
    return _of_site(session.get(Route, route_id), site_id, "route", route_id)  # type: ignore[no-any-return]


def get_trip(*, session: Session, site_id: str, trip_id: str, lock: bool = False) -> Trip:
    """Return a trip of the site (NotFound otherwise); ``lock`` it to change it."""
    row = session.get(Trip, trip_id, with_for_update=lock)
    return _of_site(row, site_id, "trip", trip_id)  # type: ignore[no-any-return]


def list_vehicles(*, session: Session, site_id: str) -> list[Vehicle]:
    """Return the site's vehicles by name."""
    return list(
        session.scalars(select(Vehicle).where(Vehicle.site_id == site_id).order_by(Vehicle.name))
    )


def list_drivers(*, session: Session, site_id: str) -> list[Driver]:
    """Return the site's drivers."""
    return list(session.scalars(select(Driver).where(Driver.site_id == site_id)))


def list_routes(*, session: Session, site_id: str, destination: str | None = None) -> list[Route]:
    """Return the site's active stored routes (to one destination, when given)."""
    stmt = select(Route).where(Route.site_id == site_id, Route.active.is_(True))
    if destination is not None:
        stmt = stmt.where(Route.destination == destination)
    return list(session.scalars(stmt.order_by(Route.name)))


def list_trips(
    *, session: Session, site_id: str, statuses: Sequence[str] | None = None
) -> list[Trip]:
    """Return the site's trips, newest planned departure first."""
    stmt = select(Trip).where(Trip.site_id == site_id)
    if statuses:
        stmt = stmt.where(Trip.status.in_(list(statuses)))
    return list(session.scalars(stmt.order_by(Trip.depart_at.desc()).limit(500)))


def crew_people(session: Session, trip: Trip) -> list[str]:
    """Return the person ids of a trip's crew."""
    return [d.person_id for d in (session.get(Driver, i) for i in trip.crew) if d is not None]


def names(session: Session, person_ids: Sequence[str]) -> dict[str, str]:
    """Return people's names by id (decrypted)."""
    if not person_ids:
        return {}
    rows = session.scalars(select(Person).where(Person.id.in_(list(person_ids))))
    return {p.id: p.name for p in rows}


# --- trips -----------------------------------------------------------------------------------


def two_person_required(site: Site, kind: str) -> bool:
    """Return True when the trip needs two crew: a cash run, or a state that requires it."""
    state = site.site.license_number[:2].upper()
    return kind == "cash" or state in TWO_PERSON_STATES


def _check_crew(session: Session, site: Site, kind: str, crew: Sequence[str], on: date) -> None:
    if not crew:
        raise InvalidInput("name the crew (at least one driver)")
    if len(set(crew)) != len(crew):
        raise InvalidInput("a driver is named twice in the crew")
    if two_person_required(site, kind) and len(crew) < 2:
        raise InvalidInput(
            "this trip needs a two-person crew (cash runs, and state rules where the site is licensed)"
        )
    for driver_id in crew:
        driver = session.get(Driver, driver_id)
        if driver is None or driver.site_id != site.site.id or not driver.active:
            raise NotFound(f"no driver {driver_id!r} at site {site.site.id}")
        person = session.get(Person, driver.person_id)
        if person is None or not background_current(person, on):
            raise Conflict("a crew member's background check is not current")
        if driver.licence_expires_on <= on:
            raise Conflict(f"{person.name}'s licence expires before the trip")


def _line(session: Session, site_id: str, data: LineIn) -> ManifestLine:
    if data.kind not in LINE_KINDS:
        raise InvalidInput(f"a manifest line is one of {', '.join(LINE_KINDS)}")
    if not data.description.strip():
        raise InvalidInput("describe every manifest line")
    if not data.quantity > 0:
        raise InvalidInput("a manifest line's quantity must be more than 0")
    seal = data.seal.strip()
    if data.kind == "cash_bag":
        bag = session.get(CashContainer, data.ref)
        if bag is None or bag.site_id != site_id or bag.kind != "bag":
            raise NotFound(f"no sealed deposit bag {data.ref!r} at site {site_id}")
        seal = bag.seal_number or seal
    return ManifestLine(
        kind=data.kind,
        ref=data.ref.strip()[:64],
        description=data.description.strip()[:200],
        quantity=float(data.quantity),
        unit=data.unit.strip()[:16] or "each",
        seal=seal[:64],
    )


def history(session: Session, site_id: str, destination: str) -> list[planner.Past]:
    """Return the route and departure of earlier trips to a destination, oldest first."""
    rows = session.execute(
        select(Trip.route_id, Trip.depart_at)
        .where(Trip.site_id == site_id, Trip.destination == destination, Trip.status != "cancelled")
        .order_by(Trip.depart_at)
    ).all()
    return [planner.Past(r, d) for r, d in rows]


def plan_trip(
    *,
    session: Session,
    site: Site,
    kind: str,
    vehicle_id: str,
    destination: str,
    crew: Sequence[str],
    lines: Sequence[LineIn],
    windows: Sequence[planner.Window],
    duration: timedelta,
    stops: Sequence[dict[str, Any]] = (),
    route_id: str | None = None,
    destination_licence: str = "",
    destination_address: str = "",
    pickup_id: str | None = None,
    k: int = 5,
    rng: random.Random | None = None,
    context: Context,
    now: datetime,
) -> Trip:
    """Plan a trip: choose the route and time (unless a route is given), check the crew."""
    site_id = site.site.id
    if kind not in ("product", "cash"):
        raise InvalidInput("a trip carries product or cash")
    if not windows:
        raise InvalidInput("give at least one departure window")
    if duration <= timedelta(0):
        raise InvalidInput("the planned duration must be more than 0")
    vehicle = get_vehicle(session=session, site_id=site_id, vehicle_id=vehicle_id)
    if not vehicle.active:
        raise Conflict(f"vehicle {vehicle.name} is retired")
    routes = [r.id for r in list_routes(session=session, site_id=site_id, destination=destination)]
    if route_id is not None:
        get_route(session=session, site_id=site_id, route_id=route_id)
        routes = [route_id]
    zone = ZoneInfo(site.site.timezone)
    plan = planner.choose(
        routes=routes,
        windows=windows,
        history=history(session, site_id, destination),
        zone=zone,
        k=k,
        rng=rng or random.SystemRandom(),
    )
    _check_crew(session, site, kind, crew, plan.depart_at.date())
    clean_stops = []
    for stop in stops:
        lon, lat = float(stop.get("lon", 999)), float(stop.get("lat", 999))
        check_point(lon, lat)
        clean_stops.append({"name": str(stop.get("name", "stop"))[:80], "lon": lon, "lat": lat})
    if len(clean_stops) < 1:
        raise InvalidInput("give the destination's position as the last stop (name, lon, lat)")
    trip = Trip(
        id=new_id(),
        site_id=site_id,
        kind=kind,
        status="planned",
        vehicle_id=vehicle.id,
        route_id=plan.route_id,
        crew=list(crew),
        destination=destination.strip()[:120],
        destination_licence=destination_licence.strip()[:64],
        destination_address=destination_address.strip()[:200],
        origin_licence=site.site.license_number,
        stops=clean_stops,
        depart_at=plan.depart_at,
        arrive_by=plan.depart_at + duration,
        predictability=plan.predictability,
        pickup_id=pickup_id,
        raised={},
        created_at=now,
        created_by=context.actor,
    )
    session.add(trip)
    session.flush()
    for data in lines:
        line = _line(session, site_id, data)
        line.trip_id = trip.id
        session.add(line)
    trip_event(session, trip, "planned", context, now)
    return trip


def lines_of(session: Session, trip_id: str) -> list[ManifestLine]:
    """Return a trip's manifest lines in order."""
    return list(
        session.scalars(
            select(ManifestLine).where(ManifestLine.trip_id == trip_id).order_by(ManifestLine.id)
        )
    )


def digest(lines: Sequence[ManifestLine]) -> str:
    """Return the SHA-256 of the manifest lines in canonical form."""
    canonical = [
        [x.kind, x.ref, x.description, x.quantity, x.unit, x.seal]
        for x in sorted(lines, key=lambda x: x.id)
    ]
    return hashlib.sha256(json.dumps(canonical, separators=(",", ":")).encode()).hexdigest()


def add_line(
    *, session: Session, trip: Trip, data: LineIn, context: Context, now: datetime
) -> ManifestLine | Refused:
    """Add a line to a manifest; after departure the change is refused and ledgered."""
    if trip.status != "planned":
        reason = "the manifest was frozen at departure; it cannot change"
        trip_event(session, trip, "change_refused", context, now, reason=reason)
        return Refused(reason)
    line = _line(session, trip.site_id, data)
    line.trip_id = trip.id
    session.add(line)
    return line


def depart(*, session: Session, site: Site, trip: Trip, context: Context, now: datetime) -> Trip:
    """Start a trip: check the crew again, freeze the manifest (its digest is ledgered)."""
    if trip.status != "planned":
        raise Conflict(f"the trip is {trip.status}, not planned")
    lines = lines_of(session, trip.id)
    if not lines:
        raise InvalidInput("the manifest is empty")
    _check_crew(session, site, trip.kind, trip.crew, now.date())
    trip.manifest_digest = digest(lines)
    trip.status = "departed"
    trip.departed_at = now
    trip_event(session, trip, "departed", context, now)
    return trip


def arrive(*, session: Session, trip: Trip, context: Context, now: datetime) -> Trip:
    """Mark a departed trip arrived (from its destination geofence or by hand)."""
    if trip.status != "departed":
        return trip
    trip.status = "arrived"
    trip.arrived_at = now
    trip_event(session, trip, "arrived", context, now)
    return trip


def cancel(*, session: Session, trip: Trip, reason: str, context: Context, now: datetime) -> Trip:
    """Cancel a planned trip."""
    if trip.status != "planned":
        raise Conflict("only a trip that has not left can be cancelled")
    trip.status = "cancelled"
    trip_event(session, trip, "cancelled", context, now, reason=reason.strip()[:200])
    return trip


@dataclass(frozen=True)
class Received:
    """What the receiver counted for one line."""

    line_id: int
    quantity: float
    seal: str


def receive(
    *,
    session: Session,
    site: Site,
    trip: Trip,
    received: Sequence[Received],
    context: Context,
    now: datetime,
) -> list[str]:
    """Record received quantities and seals per line; differences raise one alarm."""
    if trip.status not in ("departed", "arrived"):
        raise Conflict("only a trip on the road or arrived can be received")
    lines = {x.id: x for x in lines_of(session, trip.id)}
    problems: list[str] = []
    for item in received:
        line = lines.get(item.line_id)
        if line is None:
            raise NotFound(f"no line {item.line_id} on this manifest")
        if item.quantity < 0:
            raise InvalidInput("a received quantity cannot be negative")
        line.received_quantity = item.quantity
        line.received_seal = item.seal.strip()[:64]
        line.received_at = now
        if item.quantity != line.quantity:
            problems.append(f"{line.description}: {item.quantity:g} received of {line.quantity:g}")
        if line.seal and line.received_seal != line.seal:
            problems.append(
                f"{line.description}: seal {line.received_seal or 'missing'} is not {line.seal}"
            )
    missing = [x.description for x in lines.values() if x.received_at is None]
    problems += [f"{d}: not received" for d in missing]
    arrive(session=session, trip=trip, context=context, now=now)
    trip_event(session, trip, "received", context, now, reason="; ".join(problems)[:500])
    if problems:
        raise_trip_alarm(
            session=session,
            site=site,
            trip=trip,
            kind="manifest_mismatch",
            message="Manifest does not match what was received: " + "; ".join(problems)[:400],
            context=context,
            now=now,
        )
    return problems


# --- alarms ----------------------------------------------------------------------------------


@cache
def _sops() -> SopCatalogue:
    return load_sops()


def raise_trip_alarm(
    *,
    session: Session,
    site: Site | None,
    trip: Trip,
    kind: str,
    message: str,
    context: Context,
    now: datetime,
) -> str | None:
    """Raise a trip's alarm of a kind once, ledger it on the trip, start the call tree."""
    if kind in (trip.raised or {}):
        return None
    vehicle = session.get(Vehicle, trip.vehicle_id)
    label = f"{vehicle.name} ({vehicle.plate})" if vehicle else trip.vehicle_id
    result = alarms_service.raise_alarm(
        session=session,
        spec=AlarmSpec(
            f"transport_{kind}",
            f"{label} to {trip.destination}: {message}",
            device_id=trip.vehicle_id,
            priority=PRIORITY.get(kind, 2),
        ),
        site=site,
        site_id=trip.site_id,
        context=context,
        now=now,
        sops=_sops(),
    )
    trip.raised = {**(trip.raised or {}), kind: result.alarm.id}
    trip_event(session, trip, "alarm", context, now, kind=kind, reason=message[:500])
    stage(
        session,
        make_event(
            EVENT_NOTIFY,
            NotifyPayload(
                call_tree=CALL_TREE, message=f"{label}: {message}", priority=PRIORITY.get(kind, 2)
            ),
            context=context,
            time=now,
            site=trip.site_id,
        ),
    )
    return result.alarm.id

"""Transport routes under ``/api/sites/{site_id}/transport`` (thin; logic in the services).

``transport:read`` sees vehicles, drivers and trips once they have left;
``transport:dispatch`` plans trips, sees them before departure (with stored routes)
and works them (manifest, departure, dock, hand-over, receiving); ``transport:manage``
registers vehicles, drivers and routes. A crew member also sees their own planned
trip. A change refused after departure (or a refused hand-over) is committed and
answered 409 with the reason.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.access.runtime import engine_of
from bastion.api.deps import Principal, Require, SessionDep, get_hub
from bastion.api.scope import FromPath
from bastion.auth.permissions import Permission
from bastion.cash.counts import person_of_user
from bastion.core.errors import NotFound
from bastion.hub import Hub
from bastion.site import service as site_service
from bastion.transport import dock, manifest, planner, service
from bastion.transport.models import Handover, Position, Route, Trip, Vehicle
from bastion.transport.runtime import runtime_of
from bastion.transport.schemas import (
    CancelIn,
    DockOpen,
    DriverCreate,
    DriverRead,
    GpsStats,
    HandoverIn,
    HandoverRead,
    LineCreate,
    LineRead,
    PositionRead,
    ReceiveIn,
    RouteCreate,
    RouteRead,
    TripCreate,
    TripRead,
    VehicleCreate,
    VehicleRead,
)

router = APIRouter(prefix="/api/sites/{site_id}/transport", tags=["transport"])
HubDep = Annotated[Hub, Depends(get_hub)]
Reader = Annotated[Principal, Depends(Require(Permission.TRANSPORT_READ, site=FromPath("site_id")))]
Dispatcher = Annotated[
    Principal, Depends(Require(Permission.TRANSPORT_DISPATCH, site=FromPath("site_id")))
]
Manager = Annotated[
    Principal, Depends(Require(Permission.TRANSPORT_MANAGE, site=FromPath("site_id")))
]


def refused(reason: str) -> JSONResponse:
    """Return the 409 of a refusal that was recorded (not rolled back)."""
    body = {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": reason,
        "refused": True,
    }
    return JSONResponse(body, status_code=409, media_type="application/problem+json")


def may_see(session: Session, principal: Principal, trip: Trip) -> bool:
    """Return True when the caller may see the trip (before departure: dispatch or crew)."""
    if trip.status != "planned" or principal.allows(Permission.TRANSPORT_DISPATCH, trip.site_id):
        return True
    person = person_of_user(session, principal.user_id)
    return person is not None and person in service.crew_people(session, trip)


def trip_read(session: Session, trip: Trip) -> TripRead:
    """Return the API shape of a trip with its manifest lines and crew names."""
    vehicle = session.get(Vehicle, trip.vehicle_id)
    people = service.crew_people(session, trip)
    named = service.names(session, people)
    return TripRead(
        id=trip.id,
        kind=trip.kind,
        status=trip.status,
        vehicle_id=trip.vehicle_id,
        vehicle=f"{vehicle.name} ({vehicle.plate})" if vehicle else trip.vehicle_id,
        route_id=trip.route_id,
        destination=trip.destination,
        destination_licence=trip.destination_licence,
        origin_licence=trip.origin_licence,
        crew=list(trip.crew),
        crew_names=[named.get(p, "?") for p in people],
        depart_at=trip.depart_at,
        arrive_by=trip.arrive_by,
        departed_at=trip.departed_at,
        arrived_at=trip.arrived_at,
        predictability=trip.predictability,
        manifest_digest=trip.manifest_digest,
        alarms=dict(trip.raised or {}),
        lines=[
            LineRead(
                id=x.id,
                kind=x.kind,
                ref=x.ref,
                description=x.description,
                quantity=x.quantity,
                unit=x.unit,
                seal=x.seal,
                received_quantity=x.received_quantity,
                received_seal=x.received_seal,
            )
            for x in service.lines_of(session, trip.id)
        ],
    )


def _trip(session: Session, principal: Principal, site_id: str, trip_id: str) -> Trip:
    trip = service.get_trip(session=session, site_id=site_id, trip_id=trip_id, lock=True)
    if not may_see(session, principal, trip):
        raise NotFound(f"no trip {trip_id!r} at site {site_id}")
    return trip


# --- registry --------------------------------------------------------------------------------


def _vehicle(v: Vehicle) -> VehicleRead:
    return VehicleRead(
        id=v.id,
        name=v.name,
        plate=v.plate,
        description=v.description,
        unmarked=v.unmarked,
        tracker_id=v.tracker_id,
        compartment_sensor=v.compartment_sensor,
        active=v.active,
    )


@router.get("/vehicles", response_model=list[VehicleRead])
def list_vehicles(site_id: str, session: SessionDep, principal: Reader) -> list[VehicleRead]:
    """List the site's vehicles."""
    return [_vehicle(v) for v in service.list_vehicles(session=session, site_id=site_id)]


@router.post("/vehicles", response_model=VehicleRead, status_code=201)
def add_vehicle(
    site_id: str, data: VehicleCreate, session: SessionDep, hub: HubDep, principal: Manager
) -> VehicleRead:
    """Register a vehicle and its tracker."""
    site_service.get_site(session=session, site_id=site_id)
    vehicle = service.add_vehicle(
        session=session,
        site_id=site_id,
        **data.model_dump(),
        context=principal.context(),
        now=hub.clock.now(),
    )
    return _vehicle(vehicle)


@router.get("/drivers", response_model=list[DriverRead])
def list_drivers(site_id: str, session: SessionDep, principal: Reader) -> list[DriverRead]:
    """List the site's drivers (names; never the licence number)."""
    drivers = service.list_drivers(session=session, site_id=site_id)
    named = service.names(session, [d.person_id for d in drivers])
    return [
        DriverRead(
            id=d.id,
            person_id=d.person_id,
            name=named.get(d.person_id, "?"),
            licence_expires_on=d.licence_expires_on,
        )
        for d in drivers
    ]


@router.post("/drivers", response_model=DriverRead, status_code=201)
def add_driver(
    site_id: str, data: DriverCreate, session: SessionDep, hub: HubDep, principal: Manager
) -> DriverRead:
    """Register a driver (an employee with a current background check)."""
    driver = service.add_driver(
        session=session,
        site_id=site_id,
        person_id=data.person_id,
        licence_number=data.licence_number,
        licence_expires_on=data.licence_expires_on,
        context=principal.context(),
        now=hub.clock.now(),
    )
    name = service.names(session, [driver.person_id]).get(driver.person_id, "?")
    return DriverRead(
        id=driver.id,
        person_id=driver.person_id,
        name=name,
        licence_expires_on=driver.licence_expires_on,
    )


def _route(r: Route) -> RouteRead:
    return RouteRead(
        id=r.id, name=r.name, destination=r.destination, points=r.points, width_m=r.width_m
    )


@router.get("/routes", response_model=list[RouteRead])
def list_routes(site_id: str, session: SessionDep, principal: Dispatcher) -> list[RouteRead]:
    """List the stored alternative routes (dispatchers only: they reveal the plan)."""
    return [_route(r) for r in service.list_routes(session=session, site_id=site_id)]


@router.post("/routes", response_model=RouteRead, status_code=201)
def add_route(
    site_id: str, data: RouteCreate, session: SessionDep, hub: HubDep, principal: Manager
) -> RouteRead:
    """Store an alternative route to a destination."""
    route = service.add_route(
        session=session,
        site_id=site_id,
        name=data.name,
        destination=data.destination,
        points=data.points,
        width_m=data.width_m,
        context=principal.context(),
        now=hub.clock.now(),
    )
    return _route(route)


# --- trips -----------------------------------------------------------------------------------


@router.get("/trips", response_model=list[TripRead])
def list_trips(site_id: str, session: SessionDep, principal: Reader) -> list[TripRead]:
    """List trips: those on the road or done, and planned ones for dispatchers and crew."""
    return [
        trip_read(session, t)
        for t in service.list_trips(session=session, site_id=site_id)
        if may_see(session, principal, t)
    ]


@router.post("/trips", response_model=TripRead, status_code=201)
def plan_trip(
    site_id: str, data: TripCreate, session: SessionDep, hub: HubDep, principal: Dispatcher
) -> TripRead:
    """Plan a trip; the route and time are chosen to vary unless a route is given."""
    site = site_service.get_site(session=session, site_id=site_id)
    trip = service.plan_trip(
        session=session,
        site=site,
        kind=data.kind,
        vehicle_id=data.vehicle_id,
        destination=data.destination,
        crew=data.crew,
        lines=[service.LineIn(**x.model_dump()) for x in data.lines],
        windows=[planner.Window(w.start, w.end) for w in data.windows],
        duration=timedelta(minutes=data.duration_minutes),
        stops=[s.model_dump() for s in data.stops],
        route_id=data.route_id,
        destination_licence=data.destination_licence,
        destination_address=data.destination_address,
        pickup_id=data.pickup_id,
        context=principal.context(),
        now=hub.clock.now(),
    )
    return trip_read(session, trip)


@router.get("/trips/{trip_id}", response_model=TripRead)
def get_trip(site_id: str, trip_id: str, session: SessionDep, principal: Reader) -> TripRead:
    """Return a trip with its manifest."""
    return trip_read(session, _trip(session, principal, site_id, trip_id))


@router.post("/trips/{trip_id}/lines", response_model=LineRead, status_code=201)
def add_line(
    site_id: str,
    trip_id: str,
    data: LineCreate,
    session: SessionDep,
    hub: HubDep,
    principal: Dispatcher,
) -> LineRead | JSONResponse:
    """Add a manifest line (refused, and ledgered, once the trip has left)."""
    trip = service.get_trip(session=session, site_id=site_id, trip_id=trip_id, lock=True)
    result = service.add_line(
        session=session,
        trip=trip,
        data=service.LineIn(**data.model_dump()),
        context=principal.context(),
        now=hub.clock.now(),
    )
    if isinstance(result, service.Refused):
        return refused(result.reason)
    session.flush()
    return LineRead(
        id=result.id,
        kind=result.kind,
        ref=result.ref,
        description=result.description,
        quantity=result.quantity,
        unit=result.unit,
        seal=result.seal,
        received_quantity=None,
        received_seal=None,
    )


@router.post("/trips/{trip_id}/depart", response_model=TripRead)
def depart(
    site_id: str, trip_id: str, session: SessionDep, hub: HubDep, principal: Dispatcher
) -> TripRead:
    """Start the trip: the manifest is frozen and the live watch begins."""
    site = site_service.get_site(session=session, site_id=site_id)
    trip = service.get_trip(session=session, site_id=site_id, trip_id=trip_id, lock=True)
    service.depart(
        session=session, site=site, trip=trip, context=principal.context(), now=hub.clock.now()
    )
    return trip_read(session, trip)


@router.post("/trips/{trip_id}/cancel", response_model=TripRead)
def cancel(
    site_id: str,
    trip_id: str,
    data: CancelIn,
    session: SessionDep,
    hub: HubDep,
    principal: Dispatcher,
) -> TripRead:
    """Cancel a trip that has not left."""
    trip = service.get_trip(session=session, site_id=site_id, trip_id=trip_id, lock=True)
    service.cancel(
        session=session,
        trip=trip,
        reason=data.reason,
        context=principal.context(),
        now=hub.clock.now(),
    )
    return trip_read(session, trip)


@router.post("/trips/{trip_id}/receive", response_model=TripRead)
def receive(
    site_id: str,
    trip_id: str,
    data: ReceiveIn,
    session: SessionDep,
    hub: HubDep,
    principal: Dispatcher,
) -> TripRead:
    """Record what was received per line; differences raise an alarm."""
    site = site_service.get_site(session=session, site_id=site_id)
    trip = service.get_trip(session=session, site_id=site_id, trip_id=trip_id, lock=True)
    service.receive(
        session=session,
        site=site,
        trip=trip,
        received=[service.Received(x.line_id, x.quantity, x.seal) for x in data.lines],
        context=principal.context(),
        now=hub.clock.now(),
    )
    return trip_read(session, trip)


@router.post("/trips/{trip_id}/dock", status_code=204)
def open_dock(
    site_id: str,
    trip_id: str,
    data: DockOpen,
    session: SessionDep,
    hub: HubDep,
    principal: Dispatcher,
) -> None:
    """Open the dock door for the crew and the named receivers, inside the trip's window."""
    site = site_service.get_site(session=session, site_id=site_id)
    trip = service.get_trip(session=session, site_id=site_id, trip_id=trip_id, lock=True)
    dock.open_dock(
        session=session,
        site=site,
        trip=trip,
        direction=data.direction,
        door_id=data.door_id,
        staff=data.staff,
        context=principal.context(),
        now=hub.clock.now(),
        engine=engine_of(hub),
    )


@router.post("/trips/{trip_id}/handover", response_model=HandoverRead, status_code=201)
def handover(
    site_id: str,
    trip_id: str,
    data: HandoverIn,
    session: SessionDep,
    hub: HubDep,
    principal: Dispatcher,
) -> HandoverRead | JSONResponse:
    """Sign a dock hand-over (two people who badged in at the dock in the window)."""
    site = site_service.get_site(session=session, site_id=site_id)
    trip = service.get_trip(session=session, site_id=site_id, trip_id=trip_id, lock=True)
    result = dock.sign(
        session=session,
        site=site,
        trip=trip,
        direction=data.direction,
        door_id=data.door_id,
        crew_person_id=data.crew_person_id,
        staff_person_id=data.staff_person_id,
        scanned=data.scanned,
        context=principal.context(),
        now=hub.clock.now(),
    )
    if isinstance(result, service.Refused):
        return refused(result.reason)
    return _handover(result)


def _handover(h: Handover) -> HandoverRead:
    return HandoverRead(
        id=h.id,
        direction=h.direction,
        door_id=h.door_id,
        crew_person_id=h.crew_person_id,
        staff_person_id=h.staff_person_id,
        camera_id=h.camera_id,
        signed_at=h.signed_at,
    )


@router.get("/trips/{trip_id}/positions", response_model=list[PositionRead])
def positions(
    site_id: str, trip_id: str, session: SessionDep, principal: Reader
) -> list[PositionRead]:
    """Return the trip's stored positions, oldest first (at most 5,000)."""
    trip = _trip(session, principal, site_id, trip_id)
    rows = session.scalars(
        select(Position).where(Position.trip_id == trip.id).order_by(Position.at).limit(5000)
    )
    return [
        PositionRead(at=p.at, lat=p.lat, lon=p.lon, speed_kmh=p.speed_kmh, offset_m=p.offset_m)
        for p in rows
    ]


@router.get("/trips/{trip_id}/manifest.pdf", response_class=Response)
def manifest_pdf(site_id: str, trip_id: str, session: SessionDep, principal: Reader) -> Response:
    """Return the printable manifest of a trip (PDF)."""
    site = site_service.get_site(session=session, site_id=site_id)
    trip = _trip(session, principal, site_id, trip_id)
    return Response(manifest.render(session, site, trip), media_type="application/pdf")


@router.get("/gps", response_model=GpsStats)
def gps_stats(site_id: str, hub: HubDep, principal: Reader) -> GpsStats:
    """Return the GPS reports accepted and refused (by reason) since the server started."""
    runtime = runtime_of(hub)
    if runtime is None:
        return GpsStats(accepted=0, refused={}, on_road=0)
    on_road = sum(1 for w in runtime.watches.values() if w.site_id == site_id)
    return GpsStats(accepted=runtime.accepted, refused=dict(runtime.rejects), on_road=on_road)

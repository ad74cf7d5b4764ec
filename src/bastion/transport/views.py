"""What the console shows of a trip: the corridor, the track and the vehicle on a plain SVG map.

No tile server by default (the console must work offline): the map is drawn in the
route's own metric projection, north up, scaled into a fixed view box. A tile layer
may be added later as a setting; nothing here needs one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shapely.geometry import Polygon
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.transport import service
from bastion.transport.geometry import Corridor
from bastion.transport.models import Position, Route, Trip, Vehicle

VIEW = 400.0
PAD = 20.0


@dataclass
class TripMap:
    """SVG paths of one trip in a ``VIEW``×``VIEW`` box."""

    corridor: str
    route: str
    track: str
    vehicle: tuple[float, float] | None
    destination: tuple[float, float, float]
    scale_m: float


@dataclass
class TripView:
    """One trip as the console lists it."""

    id: str
    vehicle: str
    destination: str
    status: str
    kind: str
    crew: list[str]
    depart_at: datetime
    arrive_by: datetime
    departed_at: datetime | None
    arrived_at: datetime | None
    predictability: float
    alarms: dict[str, str]
    last_seen: datetime | None
    off_m: float | None
    map: TripMap | None
    lines: int
    extra: dict[str, str] = field(default_factory=dict)


def _fit(corridor: Corridor) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = corridor.area.bounds
    span = max(maxx - minx, maxy - miny, 1.0)
    scale = (VIEW - 2 * PAD) / span
    return minx, maxy, scale, span


def trip_map(route: Route, trip: Trip, positions: list[Position]) -> TripMap:
    """Return the SVG geometry of a trip: corridor, planned line, track, vehicle, destination."""
    corridor = Corridor([(p[0], p[1]) for p in route.points], route.width_m)
    minx, maxy, scale, span = _fit(corridor)

    def xy(x: float, y: float) -> tuple[float, float]:
        return round(PAD + (x - minx) * scale, 1), round(PAD + (maxy - y) * scale, 1)

    def path(coords: list[tuple[float, float]]) -> str:
        return " ".join(
            f"{'M' if i == 0 else 'L'}{px},{py}"
            for i, (px, py) in enumerate(xy(*c) for c in coords)
        )

    area = corridor.area
    ring = list(area.exterior.coords) if isinstance(area, Polygon) else []
    track = [corridor.project(p.lon, p.lat) for p in positions]
    last = trip.stops[-1]
    dx, dy = corridor.project(last["lon"], last["lat"])
    dpx, dpy = xy(dx, dy)
    return TripMap(
        corridor=path([(x, y) for x, y, *_ in ring]) + " Z" if ring else "",
        route=path(list(corridor.line.coords)),
        track=path(track) if len(track) > 1 else "",
        vehicle=xy(*track[-1]) if track else None,
        destination=(dpx, dpy, round(150 * scale, 1)),
        scale_m=round(span),
    )


def trip_views(session: Session, site_id: str, trips: list[Trip]) -> list[TripView]:
    """Return the console's view of trips, with maps for those on the road or arrived."""
    out: list[TripView] = []
    for trip in trips:
        vehicle = session.get(Vehicle, trip.vehicle_id)
        route = session.get(Route, trip.route_id)
        positions = list(
            session.scalars(
                select(Position)
                .where(Position.trip_id == trip.id)
                .order_by(Position.at)
                .limit(5000)
            )
        )
        people = service.crew_people(session, trip)
        named = service.names(session, people)
        drawn = trip_map(route, trip, positions) if route is not None else None
        out.append(
            TripView(
                id=trip.id,
                vehicle=f"{vehicle.name} ({vehicle.plate})" if vehicle else "?",
                destination=trip.destination,
                status=trip.status,
                kind=trip.kind,
                crew=[named.get(p, "?") for p in people],
                depart_at=trip.depart_at,
                arrive_by=trip.arrive_by,
                departed_at=trip.departed_at,
                arrived_at=trip.arrived_at,
                predictability=trip.predictability,
                alarms=dict(trip.raised or {}),
                last_seen=positions[-1].at if positions else None,
                off_m=positions[-1].offset_m if positions else None,
                map=drawn,
                lines=len(service.lines_of(session, trip.id)),
            )
        )
    return out

"""Dock hand-over: the loading-dock door opens only in the trip's window, for its people.

Opening a trip's dock window creates a one-trip access level on the dock door and gives
it to the crew and the named receiving staff, through the access service and engine;
closing it (by hand, or the transport tick once the window has passed) deletes the
level, so the same badges are refused again. The hand-over is signed by two people, a
crew member and a receiver who is not on the crew, each of whom must have badged in
at the dock door during the window (looked up in the ledger's access log). The
packages scanned must match the manifest; the dock camera is bookmarked.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.access import service as access_service
from bastion.access.engine import AccessEngine
from bastion.access.models import AccessLevel
from bastion.access.snapshot import LevelSpec
from bastion.cash.alerts import camera_for_zone
from bastion.core.context import Context, new_id
from bastion.core.errors import Conflict, InvalidInput, NotFound
from bastion.core.events import EVENT_ACCESS_DECISION
from bastion.people.models import Person
from bastion.site.schemas import Site
from bastion.store.ledger import LedgerRow
from bastion.transport import service
from bastion.transport.models import Handover, Trip

LEVEL_PREFIX = "transport-dock-"
BEFORE = timedelta(minutes=30)
AFTER = timedelta(minutes=30)


def level_id(trip: Trip, direction: str) -> str:
    """Return the id of a trip's one-trip dock access level for one direction."""
    return f"{LEVEL_PREFIX}{direction}-{trip.id.lower()}"


def window(trip: Trip, direction: str) -> tuple[datetime, datetime]:
    """Return the dock window: around departure (out) or the planned arrival (in)."""
    if direction not in ("out", "in"):
        raise InvalidInput("a hand-over is 'out' (loading) or 'in' (receiving)")
    moment = trip.depart_at if direction == "out" else trip.arrive_by
    return moment - BEFORE, moment + AFTER


def _words(site: Site, span: tuple[datetime, datetime]) -> str:
    zone = ZoneInfo(site.site.timezone)
    return f"{span[0].astimezone(zone):%H:%M}–{span[1].astimezone(zone):%H:%M}"


def _door(site: Site, door_id: str) -> str:
    for door in site.doors:
        if door.id == door_id:
            return door.to_zone
    raise NotFound(f"no door {door_id!r} at site {site.site.id}")


def open_dock(
    *,
    session: Session,
    site: Site,
    trip: Trip,
    direction: str,
    door_id: str,
    staff: Sequence[str],
    context: Context,
    now: datetime,
    engine: AccessEngine | None = None,
) -> AccessLevel:
    """Let the crew and the named receivers through the dock door for the trip's window."""
    _door(site, door_id)
    span = window(trip, direction)
    if not span[0] <= now <= span[1]:
        raise Conflict(f"the dock opens for this trip only {_words(site, span)}")
    if trip.status in ("cancelled", "arrived") and direction == "out":
        raise Conflict(f"the trip is {trip.status}")
    people = service.crew_people(session, trip)
    for person_id in staff:
        person = session.get(Person, person_id)
        if person is None or person.site_id not in (site.site.id, None):
            raise NotFound(f"no person {person_id!r} at site {site.site.id}")
        people.append(person_id)
    if len(people) < 2:
        raise InvalidInput("name the receiving staff for the hand-over")
    spec = LevelSpec(id=level_id(trip, direction), site_id=site.site.id, doors=(door_id,))
    vehicle = service.get_vehicle(session=session, site_id=trip.site_id, vehicle_id=trip.vehicle_id)
    access_service.put_level(
        session=session,
        spec=spec,
        name=f"Dock hand-over, {vehicle.name} {_words(site, span)}",
        context=context,
        now=now,
        engine=engine,
    )
    for person_id in dict.fromkeys(people):
        access_service.assign_level(
            session=session,
            person_id=person_id,
            level_id=spec.id,
            context=context,
            now=now,
            engine=engine,
        )
    service.trip_event(session, trip, "handover", context, now, kind="dock_opened")
    return session.get(AccessLevel, spec.id)  # type: ignore[return-value]


def close_dock(
    *,
    session: Session,
    trip: Trip,
    direction: str,
    context: Context,
    now: datetime,
    engine: AccessEngine | None = None,
) -> bool:
    """Take the trip's dock access away from everyone (True when it was open)."""
    level = level_id(trip, direction)
    if session.get(AccessLevel, level) is None:
        return False
    access_service.delete_level(
        session=session, level_id=level, context=context, now=now, engine=engine
    )
    service.trip_event(session, trip, "handover", context, now, kind="dock_closed")
    return True


def close_expired(
    *, session: Session, context: Context, now: datetime, engine: AccessEngine | None = None
) -> int:
    """Close every trip's dock window that has passed; return how many."""
    closed = 0
    levels = session.scalars(select(AccessLevel.id).where(AccessLevel.id.like(LEVEL_PREFIX + "%")))
    for found in list(levels):
        direction, _, trip_id = found[len(LEVEL_PREFIX) :].partition("-")
        trip = session.get(Trip, trip_id.upper())
        if trip is None or direction not in ("out", "in"):
            continue
        start, end = window(trip, direction)
        if not start <= now <= end and close_dock(
            session=session, trip=trip, direction=direction, context=context, now=now, engine=engine
        ):
            closed += 1
    return closed


def badge_at(
    session: Session, person_id: str, door_id: str, since: datetime, until: datetime
) -> str | None:
    """Return the id of a granted access decision of a person at a door in a span."""
    rows = session.scalars(
        select(LedgerRow)
        .where(
            LedgerRow.type == EVENT_ACCESS_DECISION.name,
            LedgerRow.subject == person_id,
            LedgerRow.device == door_id,
            LedgerRow.time >= since,
            LedgerRow.time <= until,
        )
        .order_by(LedgerRow.seq.desc())
    )
    for row in rows:
        if json.loads(row.payload).get("granted"):
            return row.id
    return None


def sign(
    *,
    session: Session,
    site: Site,
    trip: Trip,
    direction: str,
    door_id: str,
    crew_person_id: str,
    staff_person_id: str,
    scanned: Sequence[str],
    context: Context,
    now: datetime,
) -> Handover | service.Refused:
    """Sign a hand-over with two people; a refusal is ledgered and returned."""
    zone_id = _door(site, door_id)
    span = window(trip, direction)
    reason = ""
    crew = service.crew_people(session, trip)
    crew_badge = staff_badge = None
    if not span[0] <= now <= span[1]:
        reason = f"the hand-over is allowed only {_words(site, span)}"
    elif crew_person_id not in crew:
        reason = "the first signature must be a crew member of this trip"
    elif staff_person_id in crew or staff_person_id == crew_person_id:
        reason = "the second signature must be receiving staff, not the crew"
    else:
        crew_badge = badge_at(session, crew_person_id, door_id, span[0], now)
        staff_badge = badge_at(session, staff_person_id, door_id, span[0], now)
        if crew_badge is None or staff_badge is None:
            reason = "both people must have badged in at the dock door during the window"
    if not reason:
        expected = {x.ref for x in service.lines_of(session, trip.id) if x.ref}
        given = {s.strip() for s in scanned if s.strip()}
        missing, extra = sorted(expected - given), sorted(given - expected)
        if missing or extra:
            parts = []
            if missing:
                parts.append("not scanned: " + ", ".join(missing))
            if extra:
                parts.append("not on the manifest: " + ", ".join(extra))
            reason = "the packages do not match the manifest (" + "; ".join(parts) + ")"
    if reason or crew_badge is None or staff_badge is None:
        service.trip_event(
            session, trip, "change_refused", context, now, kind="handover", reason=reason
        )
        return service.Refused(reason)
    for line in service.lines_of(session, trip.id):
        line.scanned_out = line.scanned_out or direction == "out"
    handover = Handover(
        id=new_id(),
        trip_id=trip.id,
        direction=direction,
        door_id=door_id,
        crew_person_id=crew_person_id,
        staff_person_id=staff_person_id,
        crew_access_event=crew_badge,
        staff_access_event=staff_badge,
        camera_id=camera_for_zone(site, zone_id),
        signed_at=now,
        signed_by=context.actor,
    )
    session.add(handover)
    service.trip_event(session, trip, "handover", context, now, kind=direction)
    return handover

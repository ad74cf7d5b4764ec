"""Fixtures for the transport suites: the cultivation centre stored, two cleared drivers,
a van with an OwnTracks tracker, a car with an OsmAnd tracker and two stored routes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from bastion.core.clock import FrozenClock
from bastion.core.context import Context
from bastion.hub import Hub
from bastion.people import employees
from bastion.site import service as site_service
from bastion.site.loader import load_site_file
from bastion.site.schemas import Site
from bastion.transport import planner, service
from bastion.transport.models import Trip
from tests.conftest import EXAMPLES
from tests.transport.route_data import ALTERNATE, DESTINATION, ROUTE

SITE = "cultivation-main"
CTX = Context(actor="test")


@dataclass
class Fleet:
    """The cultivation centre's transport records."""

    site: Site
    alice: str  # person ids
    bob: str
    carol: str  # receiving staff, not a driver
    driver_a: str  # driver ids
    driver_b: str
    van: str
    car: str
    route: str
    alternate: str


@pytest.fixture(scope="session")
def cultivation() -> Site:
    return load_site_file(EXAMPLES / "cultivation.yaml")


def _cleared(session, name: str, now) -> str:
    person = employees.hire(session=session, name=name, site_id=SITE, context=CTX, now=now)
    employees.record_background_check(
        session=session,
        person_id=person.id,
        status="cleared",
        checked_on=now.date(),
        reference="BG-1",
        context=CTX,
        now=now,
    )
    return person.id


@pytest.fixture
def fleet(hub: Hub, cultivation: Site, clock: FrozenClock) -> Fleet:
    hub.extras["sites"] = {SITE: cultivation}
    now = clock.now()
    with hub.unit_of_work() as session:
        site_service.import_site(session=session, site=cultivation, context=CTX, now=now)
        alice = _cleared(session, "Alice Driver", now)
        bob = _cleared(session, "Bob Guard", now)
        carol = _cleared(session, "Carol Receiving", now)
        expiry = date(2027, 6, 30)
        da = service.add_driver(
            session=session,
            site_id=SITE,
            person_id=alice,
            licence_number="MI-CH-1234",
            licence_expires_on=expiry,
            context=CTX,
            now=now,
        )
        db = service.add_driver(
            session=session,
            site_id=SITE,
            person_id=bob,
            licence_number="MI-CH-5678",
            licence_expires_on=expiry,
            context=CTX,
            now=now,
        )
        van = service.add_vehicle(
            session=session,
            site_id=SITE,
            name="Van 1",
            plate="abc 123",
            tracker_id="alice/van1",
            compartment_sensor="van1-lockbox",
            context=CTX,
            now=now,
        )
        car = service.add_vehicle(
            session=session,
            site_id=SITE,
            name="Car 2",
            plate="XYZ 987",
            tracker_id="861234567890123",
            context=CTX,
            now=now,
        )
        r1 = service.add_route(
            session=session,
            site_id=SITE,
            name="North streets",
            destination=DESTINATION["name"],
            points=ROUTE,
            width_m=80,
            context=CTX,
            now=now,
        )
        r2 = service.add_route(
            session=session,
            site_id=SITE,
            name="East avenue",
            destination=DESTINATION["name"],
            points=ALTERNATE,
            width_m=80,
            context=CTX,
            now=now,
        )
        return Fleet(cultivation, alice, bob, carol, da.id, db.id, van.id, car.id, r1.id, r2.id)


def plan(
    hub: Hub,
    fleet: Fleet,
    *,
    vehicle: str | None = None,
    route: str | None = None,
    kind: str = "product",
    minutes: int = 30,
    depart_in: int = 0,
) -> Trip:
    """Plan a product trip leaving now (+depart_in min) with two crew and one package line."""
    now = hub.clock.now()
    start = now + timedelta(minutes=depart_in)
    with hub.unit_of_work() as session:
        trip = service.plan_trip(
            session=session,
            site=fleet.site,
            kind=kind,
            vehicle_id=vehicle or fleet.van,
            destination=DESTINATION["name"],
            crew=[fleet.driver_a, fleet.driver_b],
            lines=[
                service.LineIn(
                    "package",
                    "Flower, 1 lb",
                    453.6,
                    "g",
                    ref="1A4000000000000000001234",
                    seal="S-1",
                )
            ],
            windows=[planner.Window(start, start)],
            duration=timedelta(minutes=minutes),
            stops=[DESTINATION],
            route_id=route or fleet.route,
            destination_licence="IL-DISP-0001",
            context=CTX,
            now=now,
        )
        session.expunge(trip)
        return trip


def depart(hub: Hub, fleet: Fleet, trip_id: str) -> None:
    with hub.unit_of_work() as session:
        trip = session.get(Trip, trip_id)
        service.depart(
            session=session, site=fleet.site, trip=trip, context=CTX, now=hub.clock.now()
        )

"""Trips: varied plans, crew rules, manifests frozen at departure, receiving."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bastion.cash.models import CashContainer
from bastion.core.context import new_id
from bastion.core.errors import Conflict, InvalidInput
from bastion.people import employees
from bastion.transport import planner, service
from bastion.transport.models import Trip
from tests.transport.conftest import CTX, SITE, depart, plan
from tests.transport.route_data import DESTINATION, ROUTE

ZONE = ZoneInfo("America/Chicago")


def test_planner_never_repeats_route_and_hour_within_k():
    start = planner.Window(
        datetime(2026, 3, 9, 14, 0, tzinfo=ZONE),
        datetime(2026, 3, 9, 18, 0, tzinfo=ZONE),
    )
    rng = random.Random(7)
    history: list[planner.Past] = []
    for day in range(30):
        shift = timedelta(days=day)
        window = planner.Window(start.start + shift, start.end + shift)
        plan = planner.choose(
            routes=["a", "b", "c"], windows=[window], history=history, zone=ZONE, k=6, rng=rng
        )
        recent = history[-6:]
        assert (plan.route_id, plan.depart_at.astimezone(ZONE).hour) not in {
            (p.route_id, p.depart_at.astimezone(ZONE).hour) for p in recent
        }
        assert 0 <= plan.predictability <= 1
        history.append(planner.Past(plan.route_id, plan.depart_at))
    assert len({p.route_id for p in history}) == 3
    assert len({p.depart_at.astimezone(ZONE).hour for p in history}) >= 4


def test_planner_says_when_everything_was_used():
    moment = datetime(2026, 3, 9, 14, 0, tzinfo=ZONE)
    with pytest.raises(Conflict, match="widen"):
        planner.choose(
            routes=["a"],
            windows=[planner.Window(moment, moment)],
            history=[planner.Past("a", moment - timedelta(days=1))],
            zone=ZONE,
            k=3,
            rng=random.Random(1),
        )


def test_trip_plan_is_varied_between_stored_routes(hub, fleet):
    now = hub.clock.now()
    chosen = []
    for day in range(4):
        start = now + timedelta(days=day)
        with hub.unit_of_work() as session:
            trip = service.plan_trip(
                session=session,
                site=fleet.site,
                kind="product",
                vehicle_id=fleet.van,
                destination=DESTINATION["name"],
                crew=[fleet.driver_a],
                lines=[service.LineIn("free", "Samples", 3, "each")],
                windows=[planner.Window(start, start)],
                duration=timedelta(minutes=30),
                stops=[DESTINATION],
                k=1,
                rng=random.Random(day),
                context=CTX,
                now=now,
            )
            chosen.append(trip.route_id)
    assert chosen[0] != chosen[1] != chosen[2] != chosen[3]


def test_cash_run_needs_two_crew_and_links_a_sealed_bag(hub, fleet):
    now = hub.clock.now()
    with hub.unit_of_work() as session:
        bag = CashContainer(
            id=new_id(),
            site_id=SITE,
            kind="bag",
            name="Bag 7",
            bag_number="B7",
            seal_number="SEAL-77",
            created_at=now,
            created_by="test",
        )
        session.add(bag)
        session.flush()
        bag_id = bag.id
        kwargs = dict(
            session=session,
            site=fleet.site,
            kind="cash",
            vehicle_id=fleet.van,
            destination=DESTINATION["name"],
            lines=[service.LineIn("cash_bag", "Deposit bag B7", 1, "bag", ref=bag_id)],
            windows=[planner.Window(now, now)],
            duration=timedelta(minutes=30),
            stops=[DESTINATION],
            context=CTX,
            now=now,
        )
        with pytest.raises(InvalidInput, match="two-person"):
            service.plan_trip(crew=[fleet.driver_a], **kwargs)
        trip = service.plan_trip(crew=[fleet.driver_a, fleet.driver_b], **kwargs)
        assert service.lines_of(session, trip.id)[0].seal == "SEAL-77"
        with pytest.raises(Exception, match="deposit bag"):
            service.plan_trip(
                crew=[fleet.driver_a, fleet.driver_b],
                **{**kwargs, "lines": [service.LineIn("cash_bag", "x", 1, "bag", ref="nope")]},
            )


def test_driver_needs_background_check_and_valid_licence(hub, fleet):
    now = hub.clock.now()
    with hub.unit_of_work() as session:
        dave = employees.hire(session=session, name="Dave New", site_id=SITE, context=CTX, now=now)
        with pytest.raises(Conflict, match="background check"):
            service.add_driver(
                session=session,
                site_id=SITE,
                person_id=dave.id,
                licence_number="X",
                licence_expires_on=date(2030, 1, 1),
                context=CTX,
                now=now,
            )


def test_manifest_frozen_at_departure_and_change_ledgered(hub, fleet):
    trip = plan(hub, fleet)
    depart(hub, fleet, trip.id)
    with hub.unit_of_work() as session:
        row = session.get(Trip, trip.id)
        assert row.manifest_digest and len(row.manifest_digest) == 64
        result = service.add_line(
            session=session,
            trip=row,
            data=service.LineIn("free", "Extra", 1, "each"),
            context=CTX,
            now=hub.clock.now(),
        )
        assert isinstance(result, service.Refused)
        assert len(service.lines_of(session, trip.id)) == 1
    rows = hub.ledger.query(types=["transport.trip"], limit=10, newest_first=True)
    assert '"change_refused"' in rows[0].payload and "frozen" in rows[0].payload
    assert row.manifest_digest in rows[1].payload  # the departure carries the digest


def test_receiving_a_short_line_raises_one_alarm(hub, fleet):
    trip = plan(hub, fleet)
    depart(hub, fleet, trip.id)
    with hub.unit_of_work() as session:
        row = session.get(Trip, trip.id)
        line = service.lines_of(session, trip.id)[0]
        problems = service.receive(
            session=session,
            site=fleet.site,
            trip=row,
            received=[service.Received(line.id, 400.0, "S-2")],
            context=CTX,
            now=hub.clock.now(),
        )
        assert len(problems) == 2
        assert row.status == "arrived" and "manifest_mismatch" in row.raised


def test_route_with_one_point_is_refused(hub, fleet):
    with hub.unit_of_work() as session, pytest.raises(InvalidInput, match="two different points"):
        service.add_route(
            session=session,
            site_id=SITE,
            name="x",
            destination="y",
            points=[ROUTE[0]],
            width_m=50,
            context=CTX,
            now=hub.clock.now(),
        )

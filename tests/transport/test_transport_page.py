"""The transport console page: the trip map, alarms, and plans hidden from non-dispatchers."""

from __future__ import annotations

from sqlalchemy import insert

from bastion.auth.permissions import Role
from bastion.transport.models import Position, Trip
from tests.transport.conftest import SITE, depart, plan
from tests.transport.route_data import drive


def _track(hub, trip_id, vehicle_id, clock):
    rows = [
        {
            "vehicle_id": vehicle_id,
            "trip_id": trip_id,
            "at": at,
            "lat": lat,
            "lon": lon,
            "source": "owntracks",
            "offset_m": 3.0,
        }
        for at, lat, lon in drive(clock.now())[:20]
    ]
    with hub.unit_of_work() as session:
        session.execute(insert(Position), rows)
        trip = session.get(Trip, trip_id)
        trip.raised = {"deviation": "01ALARMALARMALARMALARMALAR"}


def test_trip_map_for_operator_and_plans_for_dispatcher(client_for, hub, clock, fleet):
    on_road = plan(hub, fleet)
    depart(hub, fleet, on_road.id)
    _track(hub, on_road.id, fleet.van, clock)
    secret = plan(hub, fleet, vehicle=fleet.car, route=fleet.alternate, depart_in=120)
    operator = client_for(Role.OPERATOR, site_id=SITE)
    html = operator.get(f"/console/transport?site={SITE}").text
    assert "Van 1 (ABC 123)" in html and "trip-map" in html and 'class="vehicle"' in html
    assert "off route" in html and "Alice Driver" in html
    assert secret.id not in html and "Car 2" not in html
    manager = client_for(Role.SECURITY_MANAGER, site_id=SITE)
    assert secret.id in manager.get(f"/console/transport/live?site={SITE}").text
    assert operator.get("/console/transport?site=dispensary-main").status_code in (403, 404)

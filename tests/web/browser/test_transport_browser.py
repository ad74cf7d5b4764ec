"""The transport page in headless Chromium against the demo server: a trip on its map.

The screenshot goes to docs/screenshots/transport-trip-map.png.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import insert

from tests.web.browser.browserkit import SITE

pytestmark = pytest.mark.slow

DOCS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def trip(live):
    """A delivery on the road from the demo dispensary: a detour, then an alarm."""
    from bastion.core.context import Context
    from bastion.people import employees
    from bastion.transport import planner, service
    from bastion.transport.models import Position, Trip
    from tests.transport.route_data import DESTINATION, ROUTE, drive

    hub = live.hub
    ctx = Context(actor="test")
    now = hub.clock.now()
    site = hub.extras["sites"][SITE]
    with hub.unit_of_work() as session:
        people = []
        for name in ("Dana Driver", "Eli Guard"):
            person = employees.hire(session=session, name=name, site_id=SITE, context=ctx, now=now)
            employees.record_background_check(
                session=session,
                person_id=person.id,
                status="cleared",
                checked_on=now.date(),
                reference="BG",
                context=ctx,
                now=now,
            )
            people.append(
                service.add_driver(
                    session=session,
                    site_id=SITE,
                    person_id=person.id,
                    licence_number="L-1",
                    licence_expires_on=date(now.year + 2, 1, 1),
                    context=ctx,
                    now=now,
                ).id
            )
        van = service.add_vehicle(
            session=session,
            site_id=SITE,
            name="Grey van",
            plate="KLM 204",
            tracker_id="dana/van",
            context=ctx,
            now=now,
        )
        route = service.add_route(
            session=session,
            site_id=SITE,
            name="North streets",
            destination=DESTINATION["name"],
            points=ROUTE,
            width_m=80,
            context=ctx,
            now=now,
        )
        start = now - timedelta(minutes=8)
        row = service.plan_trip(
            session=session,
            site=site,
            kind="cash",
            vehicle_id=van.id,
            destination=DESTINATION["name"],
            crew=people,
            lines=[service.LineIn("free", "Deposit bag", 1, "bag", seal="S-88")],
            windows=[planner.Window(start, start)],
            duration=timedelta(minutes=30),
            stops=[DESTINATION],
            route_id=route.id,
            context=ctx,
            now=start,
        )
        service.depart(session=session, site=site, trip=row, context=ctx, now=start)
        fixes = drive(start, every_s=10)[:40]
        rows = []
        for i, (at, lat, lon) in enumerate(fixes):
            if 15 <= i < 28:
                lon -= 0.0039  # the detour
            rows.append(
                {
                    "vehicle_id": van.id,
                    "trip_id": row.id,
                    "at": at,
                    "lat": lat,
                    "lon": lon,
                    "source": "owntracks",
                }
            )
        session.execute(insert(Position), rows)
        service.raise_trip_alarm(
            session=session,
            site=site,
            trip=session.get(Trip, row.id),
            kind="deviation",
            message="Left the planned route: 330 m off the corridor for 90 s",
            context=ctx,
            now=now,
        )
        return row.id


def test_trip_map_with_its_alarm(admin_page, live, trip):
    page = admin_page
    page.goto("/console/transport")
    card = page.locator(f'[data-trip="{trip}"]')
    expect(card).to_contain_text("Grey van (KLM 204)")
    expect(card).to_contain_text("Dana Driver, Eli Guard")
    expect(card.locator("svg.trip-map path.track")).to_have_count(1)
    expect(card.locator("svg.trip-map circle.vehicle")).to_have_count(1)
    expect(card.locator(".trip-alarms a")).to_have_text("off route")
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS / "transport-trip-map.png"), full_page=True)
    card.locator(".trip-alarms a").click()
    expect(page).to_have_url(f"{live.url}/console/alarms/" + page.url.rsplit("/", 1)[-1])

"""The escort watch end to end: a visitor checked in through the API badges at doors; an
alarm is raised when their own host was not granted at that door within the escort window.

One signed-in client per test: every client runs the app's lifespan on the shared hub,
and two running apps would mean two watches (as in production, one per process).
"""

from __future__ import annotations

import functools
from datetime import timedelta

import pytest

from bastion.access import service as access_service
from bastion.access.runtime import engine_of
from bastion.access.snapshot import DoorPolicySpec
from bastion.alarms.models import Alarm
from bastion.auth.permissions import Role
from bastion.core.context import Context
from bastion.core.events import EVENT_ACCESS_DECISION, EVENT_ALARM_RAISED, AccessDecisionPayload
from bastion.people import employees, escorts
from tests.people.conftest import CTX, SITE, document, ledger_payloads
from tests.people.test_visitors_api import visit_body


@pytest.fixture
def desk(client_for):
    return client_for(Role.OPERATOR)


@pytest.fixture
def people(stored_site, desk, database, site_hub, clock):
    """Return the host's and a colleague's person ids (hired while the app runs)."""
    with database.unit_of_work() as session:
        return [
            employees.hire(
                session=session,
                name=name,
                site_id=SITE,
                context=CTX,
                now=clock.now(),
                engine=engine_of(site_hub),
            ).id
            for name in ("Hana Host", "Colin Colleague")
        ]


@pytest.fixture
def visitor(people, desk, clock):
    """Check a visitor in through the API; return the visit as read back."""
    host_id = people[0]
    created = desk.post("/api/visitors", json=visit_body(clock, host_id))
    assert created.status_code == 201, created.text
    checked = desk.post(
        f"/api/visitors/{created.json()['id']}/check-in", json={"document": document()}
    )
    assert checked.status_code == 200, checked.text
    return checked.json()


def badge(client, clock, subject, door, *, after_s, granted=True, reason="granted"):
    """Publish one access decision on the running app's bus and wait until it is handled."""
    bus = client.app.state.hub.bus
    send = functools.partial(
        bus.publish,
        EVENT_ACCESS_DECISION,
        AccessDecisionPayload(door_id=door, subject=subject, granted=granted, reason=reason),
        context=Context(actor="reader:test"),
        site=SITE,
        time=clock.now() + timedelta(seconds=after_s),
    )
    client.portal.call(send)
    client.portal.call(bus.drain)


def unescorted(hub):
    return [
        p
        for p in ledger_payloads(hub, EVENT_ALARM_RAISED.name)
        if p["alarm_type"] == escorts.ALARM_TYPE
    ]


def test_the_watch_runs_with_the_app(desk, site_hub):
    worker = site_hub.extras["people"]
    assert isinstance(worker.escorts, escorts.EscortMonitor)


def test_a_visitor_alone_raises_one_alarm_and_with_the_host_none(
    visitor, people, desk, site_hub, clock, database
):
    host_id = people[0]
    vid, subject = visitor["id"], visitor["person_id"]
    # With the host granted at the door just before: escorted, no alarm.
    badge(desk, clock, host_id, "front-entry", after_s=0)
    badge(desk, clock, subject, "front-entry", after_s=5)
    assert unescorted(site_hub) == []
    # Alone at another door: one alarm naming the visit and the door, never the name.
    badge(desk, clock, subject, "checkin-door", after_s=10)
    [alarm] = unescorted(site_hub)
    assert vid in alarm["message"] and "Check-in door" in alarm["message"]
    assert alarm["door_id"] == "checkin-door" and alarm["zone_id"] == "sales-floor"
    assert "Vic" not in alarm["message"]
    # Badging again within the window does not flood the queue …
    badge(desk, clock, subject, "checkin-door", after_s=20, granted=False, reason="escort_required")
    assert len(unescorted(site_hub)) == 1
    # … and the alarms runtime made it an alarm operators work.
    with database.sessions() as session:
        rows = session.query(Alarm).filter(Alarm.alarm_type == escorts.ALARM_TYPE).all()
    assert [(a.door_id, a.state, a.priority) for a in rows] == [
        ("checkin-door", "raised", escorts.ALARM_PRIORITY)
    ]


def test_another_employee_is_not_the_host(visitor, people, desk, site_hub, clock):
    """The engine accepts any employee badge; the state rule wants the visitor's own host."""
    _, colleague_id = people
    badge(desk, clock, colleague_id, "front-entry", after_s=0)
    badge(desk, clock, visitor["person_id"], "front-entry", after_s=2)
    [alarm] = unescorted(site_hub)
    assert visitor["id"] in alarm["message"] and alarm["door_id"] == "front-entry"


def test_the_window_comes_from_the_door_policy(visitor, people, desk, site_hub, clock, database):
    host_id = people[0]
    engine = engine_of(site_hub)
    with database.unit_of_work() as session:
        access_service.set_door_policy(
            session=session,
            spec=DoorPolicySpec(site_id=SITE, door_id="front-entry", escort_window_s=10.0),
            context=CTX,
            now=clock.now(),
            engine=engine,
        )
    assert engine is not None and engine.snapshot.doors[f"{SITE}/front-entry"].escort_window_s == 10
    # Host 15 s before: outside the door's 10 s window (though inside the default 30 s).
    badge(desk, clock, host_id, "front-entry", after_s=0)
    badge(desk, clock, visitor["person_id"], "front-entry", after_s=15)
    [alarm] = unescorted(site_hub)
    assert "10 s" in alarm["message"]
    # A new window at the same door raises again.
    badge(desk, clock, visitor["person_id"], "front-entry", after_s=40)
    assert len(unescorted(site_hub)) == 2


def test_employees_and_checked_out_visitors_raise_nothing(visitor, people, desk, site_hub, clock):
    host_id = people[0]
    badge(desk, clock, host_id, "checkin-door", after_s=0)
    out = desk.post(f"/api/visitors/{visitor['id']}/check-out", json={"badge_returned": True})
    assert out.status_code == 200, out.text
    badge(desk, clock, visitor["person_id"], "checkin-door", after_s=60, granted=False)
    badge(desk, clock, "01UNKNOWNPERSON00000000000", "checkin-door", after_s=61, granted=False)
    assert unescorted(site_hub) == []

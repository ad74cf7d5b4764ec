"""The alarm page: one ``alarm.raised`` per alarm, and nothing is "due" on a closed alarm."""

from __future__ import annotations

import re

from bastion.auth.permissions import Role
from bastion.core.events import EVENT_ALARM_RAISED, EVENT_DOOR_HELD, AlarmPayload, DoorPayload
from tests.web.test_web_console import app, publish, wait_for_alarm

__all__ = ["app"]


def test_a_cause_reported_twice_shows_one_alarm_raised(client_for, site_hub):
    client = client_for(Role.OPERATOR)
    # A door adapter reports the held door and raises the alarm for it; the alarms domain
    # raises one from the same door event. Both are on the record; the alarm is one.
    held = publish(
        client,
        EVENT_DOOR_HELD,
        DoorPayload(door_id="front-entry", state="held", zone_id="lobby", duration_s=90),
    )
    bus = client.app.state.hub.bus
    client.portal.call(
        lambda: bus.publish(
            EVENT_ALARM_RAISED,
            AlarmPayload(
                alarm_type="door_held",
                priority=4,
                message="Front entry held open",
                zone_id="lobby",
                door_id="front-entry",
                source_event_id=held.id,
            ),
            context=held.context.child(actor="system"),
            site=held.site,
        )
    )
    alarm = wait_for_alarm(site_hub, lambda a: a.door_id == "front-entry")
    wait_for_alarm(site_hub, lambda a: len(site_hub.ledger.query(types=["alarm.raised"])) == 2)
    page = client.get(f"/console/alarms/{alarm.id}").text
    assert len(re.findall(r'data-type="alarm\.raised"', page)) == 1


def test_a_false_alarm_shows_no_step_due(client_for, site_hub):
    client = client_for(Role.OPERATOR)
    publish(
        client,
        EVENT_DOOR_HELD,
        DoorPayload(door_id="front-entry", state="held", zone_id="lobby", duration_s=90),
    )
    alarm = wait_for_alarm(site_hub, lambda a: a.door_id == "front-entry")
    assert "Due now" in client.get(f"/console/alarms/{alarm.id}").text
    closed = client.post(f"/api/alarms/{alarm.id}/false-alarm", json={"note": "staff propped it"})
    assert closed.status_code == 200, closed.text
    page = client.get(f"/console/alarms/{alarm.id}").text
    assert "Due now" not in page
    assert "closed as a false alarm" in page

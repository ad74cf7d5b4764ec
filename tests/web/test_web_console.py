import functools
import re
import shutil
import time
import xml.etree.ElementTree as ET

import pytest

from bastion.alarms import service as alarms_service
from bastion.alarms.models import Alarm
from bastion.alarms.sop import load_sops
from bastion.auth.permissions import Role
from bastion.automation.runtime import EXAMPLE_RULES
from bastion.core.context import Context
from bastion.core.events import (
    EVENT_DEVICE_HEALTH,
    EVENT_DOOR_FORCED,
    EVENT_THREAT_LEVEL,
    DeviceHealthPayload,
    DoorPayload,
    ThreatLevelPayload,
)
from bastion.demo import install_demo_call_trees
from bastion.web.charts import Segment, bar_chart, column_chart, stacked_bars

SITE = "dispensary-main"
CONTROL = re.compile(r'class="[^"]*\bcontrol\b|data-action=|data-ack=')


@pytest.fixture
def app(site_hub, tmp_path):
    from bastion.api.app import create_app

    rules = tmp_path / "rules"
    rules.mkdir()
    for source in EXAMPLE_RULES.glob("*.yaml"):
        shutil.copyfile(source, rules / source.name)
    install_demo_call_trees(site_hub, smtp_port=9)  # the call trees the example rules start
    return create_app(site_hub)


def publish(client, event_type, payload, *, actor="device:test"):
    """Publish on the running app's bus (in its loop), as a device adapter would."""
    bus = client.app.state.hub.bus
    send = functools.partial(
        bus.publish, event_type, payload, context=Context(actor=actor), site=SITE
    )
    return client.portal.call(send)


def wait_for_alarm(hub, predicate=lambda a: True):
    """Return the first alarm matching ``predicate`` once the alarms runtime raised it."""
    for _ in range(100):
        with hub.db.sessions() as session:
            found = [a for a in session.query(Alarm).all() if predicate(a)]
        if found:
            return found[0]
        time.sleep(0.02)
    pytest.fail("the alarms runtime raised no alarm")


def force(client, hub, door="lot-gate", zone="parking"):
    publish(client, EVENT_DOOR_FORCED, DoorPayload(door_id=door, state="forced", zone_id=zone))
    return wait_for_alarm(hub, lambda a: a.door_id == door and a.state == "raised")


def raise_direct(hub, alarm_type, *, zone=None, door=None, message=None):
    with hub.db.unit_of_work() as session:
        result = alarms_service.raise_alarm(
            session=session,
            spec=alarms_service.AlarmSpec(alarm_type, message or alarm_type, zone, door),
            site=hub.extras["sites"][SITE],
            site_id=SITE,
            context=Context(actor="test"),
            now=hub.clock.now(),
            sops=load_sops(),
        )
        return result.alarm.id


def test_dashboard_queue_is_sorted_by_priority_then_age(client_for, site_hub, clock):
    client = client_for(Role.OPERATOR)
    held = raise_direct(site_hub, "door_held", zone="lobby", door="front-entry")
    clock.advance(30)
    older = raise_direct(site_hub, "door_forced", zone="parking", door="lot-gate")
    clock.advance(30)
    newer = raise_direct(site_hub, "door_forced", zone="loading-dock", door="dock-door")
    page = client.get("/console")
    assert page.status_code == 200
    order = re.findall(r'class="alarm-row[^"]*" data-alarm-id="([^"]+)"', page.text)
    assert order == [older, newer, held]
    assert 'data-ack="' in page.text  # the operator may acknowledge from the queue
    assert 'id="site-map"' in page.text and 'id="chart-events"' in page.text
    assert 'class="skip-link" href="#main"' in page.text
    fragment = client.get("/console/fragments/alarm-queue")
    assert re.findall(r'data-alarm-id="([^"]+)"', fragment.text) == [older, newer, held]


def test_auditor_dashboard_and_alarm_page_render_no_controls(client_for, site_hub):
    alarm_id = raise_direct(site_hub, "door_forced", zone="parking", door="lot-gate")
    client = client_for(Role.AUDITOR)
    for path in ("/console", f"/console/alarms/{alarm_id}", "/console/alarms", "/console/map"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert not CONTROL.search(page.text), path
    alarm_page = client.get(f"/console/alarms/{alarm_id}").text
    assert "Your role can follow this alarm but not work it" in alarm_page
    assert 'data-can-control="false"' in client.get("/console").text
    assert client.post(f"/api/alarms/{alarm_id}/acknowledge").status_code == 403
    assert client.post(f"/console/alarms/{alarm_id}/investigate").status_code == 403


def test_operator_works_a_forced_door_through_its_procedure(client_for, site_hub):
    client = client_for(Role.OPERATOR)
    alarm = force(client, site_hub)
    url = f"/console/alarms/{alarm.id}"
    page = client.get(url).text
    assert 'data-action="acknowledge"' in page
    assert 'data-type="door.forced"' in page  # the cause heads the event chain
    assert "Forced door or intrusion" in page and 'data-camera="' in page
    assert client.post(f"/api/alarms/{alarm.id}/acknowledge").status_code == 200
    assert client.post(f"/console/alarms/{alarm.id}/investigate").json()["state"] == "investigating"
    panel = client.get(f"{url}/panel").text
    assert re.search(r'data-step="view_camera" data-status="current"', panel)
    assert 'data-answer="no"' in panel and 'data-answer="yes"' in panel
    assert re.search(r'data-action="resolve" disabled', panel)
    api = f"/api/alarms/{alarm.id}/steps"
    assert client.post(f"{api}/view_camera", json={"answer": "no"}).status_code == 200
    assert client.post(f"{api}/check_locks", json={"answer": "yes"}).status_code == 200
    assert (
        client.post(f"{api}/send_guard/skip", json={"reason": "guard on a call"}).status_code == 200
    )
    panel = client.get(f"{url}/panel").text
    assert re.search(r'data-step="view_camera" data-status="done"', panel)
    assert re.search(r'data-step="send_guard" data-status="skipped"', panel)
    assert "guard on a call" in panel and "supervisor notified" in panel
    assert re.search(r'data-step="notify_manager" data-status="current"', panel)
    assert client.post(f"{api}/notify_manager", json={"answer": "told J. Doe"}).status_code == 200
    panel = client.get(f"{url}/panel").text
    assert re.search(r'data-step="call_police" data-status="unused"', panel)
    assert not re.search(r'data-action="resolve" disabled', panel)
    assert (
        client.post(f"/api/alarms/{alarm.id}/resolve", json={"note": "gate ok"}).status_code == 200
    )
    page = client.get(url).text
    assert 'id="alarm-state" class="state-badge state-resolved"' in page
    assert "data-action=" not in page
    closed = client.get("/console/alarms?state=closed").text
    assert alarm.id in closed and 'id="chart-reactions"' in closed
    incidents = client.get("/console/incidents").text
    assert f"/console/alarms/{alarm.id}" in incidents


def test_bad_ids_give_404_pages_and_problems(client_for):
    client = client_for(Role.OPERATOR)
    for path in ("/console/alarms/nope", "/console/alarms/nope/panel"):
        page = client.get(path)
        assert page.status_code == 404 and 'id="not-found"' in page.text, path
        assert page.headers["content-type"].startswith("text/html")
    missing = client.post("/console/alarms/nope/investigate")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert client.get("/console/map?site=nope").status_code == 404
    assert client.get("/console/alarms?state=bogus").status_code == 422


def test_navigation_and_sections_follow_the_role(client_for):
    operator = client_for(Role.OPERATOR)
    nav = operator.get("/console").text
    assert 'href="/console/alarms"' in nav and 'href="/console/rules"' in nav
    assert 'href="/console/reports"' not in nav and 'href="/console/analysis"' not in nav
    assert operator.get("/console/reports").status_code == 403
    assert 'href="/console/visitors"' in nav and 'href="/console/emergency"' in nav
    rules = operator.get("/console/rules").text
    assert 'data-rule="forced-door-response"' in rules and "door.forced" in rules

    auditor = client_for(Role.AUDITOR)
    nav = auditor.get("/console").text
    assert 'href="/console/reports"' in nav and 'href="/console/analysis"' in nav
    reports = auditor.get("/console/reports")
    assert reports.status_code == 200 and 'id="reaction-stats"' in reports.text
    assert 'id="chart-events"' in reports.text

    employee = client_for(Role.EMPLOYEE)
    landing = employee.get("/console", follow_redirects=False)
    assert landing.status_code == 303 and landing.headers["location"] == "/console/safety"
    assert employee.get("/console/alarms").status_code == 403
    assert employee.get("/api/events").status_code == 403


def test_status_strip_shows_threat_level_and_device_faults(client_for):
    client = client_for(Role.OPERATOR)
    status = client.get("/console/fragments/status").text
    assert 'data-level="0"' in status and "normal" in status
    publish(
        client, EVENT_THREAT_LEVEL, ThreatLevelPayload(level=3, name="elevated", reason="drill")
    )
    publish(
        client,
        EVENT_DEVICE_HEALTH,
        DeviceHealthPayload(device_id="vault-door-rdr-in", status="tamper", detail="cover open"),
    )
    for _ in range(50):
        status = client.get("/console/fragments/status").text
        if 'data-level="3"' in status and 'data-device="vault-door-rdr-in"' in status:
            break
        time.sleep(0.02)
    else:
        pytest.fail(f"status never showed the new threat level and fault:\n{status}")
    assert "elevated" in status and "drill" in status and "cover open" in status


def test_login_page_explains_an_ended_session(client_for):
    client = client_for(Role.OPERATOR)
    page = client.get("/login?expired=1&next=/console/alarms")
    assert "Your session ended" in page.text and 'data-next="/console/alarms"' in page.text
    assert 'data-next="/console"' in client.get("/login?next=//evil.example").text


def test_charts_are_well_formed_svg():
    columns = column_chart([("00", 3), ("01", 0), ("02", 7)], label="Events", css_id="c")
    root = ET.fromstring(columns)
    bars = [r for r in root.iter("{http://www.w3.org/2000/svg}rect")]
    assert [b.get("data-value") for b in bars] == ["3", "0", "7"]
    assert "10 in total" in root.get("aria-label")
    bars_svg = ET.fromstring(bar_chart([("Vault", 2), ("Lobby", 1)], label="By zone"))
    assert len(list(bars_svg.iter("{http://www.w3.org/2000/svg}rect"))) == 2
    assert "nothing yet" in bar_chart([], label="By zone")
    stacked = ET.fromstring(
        stacked_bars(
            [("Gate", [Segment(30, "seg-ack", "ack"), Segment(90, "seg-resolve", "close")])],
            label="Reaction",
        )
    )
    assert [r.get("class") for r in stacked.iter("{http://www.w3.org/2000/svg}rect")] == [
        "seg-ack",
        "seg-resolve",
    ]

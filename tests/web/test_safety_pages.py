"""The safety console page: a worker's own plan, timers and reports; the staff view."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from bastion.auth.permissions import Role
from bastion.core.events import EVENT_ALARM_RAISED, EVENT_LONE_WORKER, EVENT_SAFETY_REPORT


def csrf(client):
    return {"csrf_token": client.headers["X-CSRF-Token"]}


def payloads(hub, name):
    return [
        json.loads(r.payload)
        for r in hub.ledger.query(types=[name], limit=1000, newest_first=False)
    ]


@pytest.mark.usefixtures("lone_worker_tree")
def test_worker_assesses_runs_a_timer_and_checks_in_with_pins(client_for, hub):
    me = client_for(Role.EMPLOYEE)
    page = me.get("/console/safety")
    assert page.status_code == 200 and 'id="assessment-form"' in page.text
    assert 'id="staff-timers"' not in page.text
    assessed = me.post(
        "/console/safety/assessment", data={**csrf(me), "factor_working_alone": "on"}
    )
    assert (
        assessed.status_code == 200
        and "Assessment saved" in assessed.text
        and 'id="assessment"' in assessed.text
    )
    bad_pins = me.post(
        "/console/safety/pins", data={**csrf(me), "checkin_pin": "1234", "duress_pin": "1234"}
    )
    assert bad_pins.status_code == 422 and "differ" in bad_pins.text
    assert (
        "PINs saved"
        in me.post(
            "/console/safety/pins", data={**csrf(me), "checkin_pin": "1234", "duress_pin": "9876"}
        ).text
    )
    started = me.post(
        "/console/safety/timers",
        data={**csrf(me), "task": "Night count in the vault room", "interval_minutes": "30"},
    )
    assert "Timer started" in started.text and "Night count in the vault room" in started.text
    timer_id = payloads(hub, EVENT_LONE_WORKER.name)[-1]["timer_id"]
    # A mistyped PIN: a clear message and nothing recorded.
    wrong = me.post(f"/console/safety/timers/{timer_id}/check-in", data={**csrf(me), "pin": "1111"})
    assert wrong.status_code == 422 and "not recognised" in wrong.text
    assert [p["action"] for p in payloads(hub, EVENT_LONE_WORKER.name)] == ["started"]
    # The duress PIN looks exactly like a normal check-in, and raises a silent alarm.
    normal = me.post(
        f"/console/safety/timers/{timer_id}/check-in", data={**csrf(me), "pin": "1234"}
    )
    duress = me.post(
        f"/console/safety/timers/{timer_id}/check-in", data={**csrf(me), "pin": "9876"}
    )
    assert normal.status_code == duress.status_code == 200
    assert "Checked in." in normal.text and "Checked in." in duress.text
    alarms = [a for a in payloads(hub, EVENT_ALARM_RAISED.name) if a["alarm_type"] == "duress"]
    assert len(alarms) == 1 and "vault room" not in alarms[0]["message"]
    assert (
        "Timer finished"
        in me.post(f"/console/safety/timers/{timer_id}/finish", data={**csrf(me), "pin": ""}).text
    )


def test_reports_from_the_page_with_an_anonymous_option_and_the_staff_view(client_for, hub, clock):
    me = client_for(Role.EMPLOYEE)
    empty = me.post(
        "/console/safety/reports/suspicious-activity", data={**csrf(me), "description": ""}
    )
    assert empty.status_code == 422 and "description" in empty.text
    anon = me.post(
        "/console/safety/reports/suspicious-activity",
        data={**csrf(me), "description": "Man photographing the back door", "anonymous": "on"},
    )
    assert "Report filed" in anon.text
    assert "None filed under your name" in anon.text  # anonymous reports are not linked to you
    item = me.post(
        "/console/safety/reports/suspicious-item",
        data={**csrf(me), "description": "Backpack left by the ATM", "location": "lobby"},
    )
    assert "Report filed" in item.text
    call = me.post(
        "/console/safety/reports/threat-call",
        data={
            **csrf(me),
            "exact_words": "You will regret it",
            "call_time": "2026-03-07T08:55",
            "voice": ["calm"],
        },
    )
    assert "Report filed" in call.text, call.text
    assert (
        me.post(
            "/console/safety/reports/nonsense", data={**csrf(me), "description": "x"}
        ).status_code
        == 404
    )
    filed = payloads(hub, EVENT_SAFETY_REPORT.name)
    assert [f["kind"] for f in filed] == ["suspicious_activity", "suspicious_item", "threat_call"]
    assert filed[0]["anonymous"] is True and filed[0]["subject"] is None
    staff = client_for(Role.OPERATOR)
    view = staff.get("/console/safety")
    assert 'id="staff-reports"' in view.text and "anonymous" in view.text
    assert "Backpack" not in view.text  # staff list shows kinds, not the private details
    assert client_for(Role.AUDITOR).get("/console/safety").status_code == 403


def test_doxing_case_is_opened_and_its_guided_steps_recorded_from_the_page(client_for, hub):
    me = client_for(Role.EMPLOYEE)
    page = me.get("/console/safety")
    assert 'id="doxing-form"' in page.text and 'name="csrf_token"' in page.text
    empty = me.post("/console/safety/doxing", data={**csrf(me), "description": " "})
    assert empty.status_code == 422 and "description" in empty.text
    opened = me.post(
        "/console/safety/doxing",
        data={**csrf(me), "description": "Home address posted on a forum"},
    )
    assert opened.status_code == 200 and "Doxing case opened" in opened.text
    [case] = [f for f in payloads(hub, EVENT_SAFETY_REPORT.name) if f["kind"] == "doxing"]
    case_id = case["report_id"]
    assert f'id="case-{case_id}"' in opened.text and "Home address posted" in opened.text
    steps_url = f"/console/safety/doxing/{case_id}/steps"
    # Assessing without naming what was exposed: a clear message and nothing recorded.
    vague = me.post(steps_url, data={**csrf(me), "step": "assess"})
    assert vague.status_code == 422 and "exposed" in vague.text
    unknown = me.post(steps_url, data={**csrf(me), "step": "panic"})
    assert unknown.status_code == 422 and "step" in unknown.text
    assert [f["action"] for f in payloads(hub, EVENT_SAFETY_REPORT.name)] == ["filed"]
    # Someone else cannot record steps on (or learn of) my case.
    other = client_for(Role.EMPLOYEE)
    assert other.post(steps_url, data={**csrf(other), "step": "document"}).status_code == 404
    assert "Home address posted" not in other.get("/console/safety").text
    me.post(steps_url, data={**csrf(me), "step": "document", "notes": "Screenshots saved"})
    assessed = me.post(
        steps_url, data={**csrf(me), "step": "assess", "exposed": ["home_address", "phone"]}
    )
    assert "Step recorded" in assessed.text and "exposed: home address, phone" in assessed.text
    reported = me.post(
        steps_url, data={**csrf(me), "step": "report", "platforms": "ForumX, police , ForumX"}
    )
    assert "platforms: ForumX, police" in reported.text
    assert '<option value="lock_down" selected>' in reported.text  # the next guided step
    for step in ("lock_down", "monitor"):
        last = me.post(steps_url, data={**csrf(me), "step": step})
    assert "the case is closed" in last.text
    recorded = [
        f["step"] for f in payloads(hub, EVENT_SAFETY_REPORT.name) if f["action"] == "step_recorded"
    ]
    assert recorded == ["document", "assess", "report", "lock_down", "monitor"]
    assert "Screenshots" not in str(payloads(hub, EVENT_SAFETY_REPORT.name))


@pytest.mark.usefixtures("site_hub")  # the dispensary: Chicago's clock
def test_routines_log_trips_flag_predictability_and_suggest_varied_departures(client_for, clock):
    me = client_for(Role.EMPLOYEE)
    assert 'id="routine-form"' in me.get("/console/safety").text
    backwards = me.post(
        "/console/safety/routines",
        data={**csrf(me), "name": "Cash pickup", "window_start": "11:00", "window_end": "09:00"},
    )
    assert backwards.status_code == 422 and "window_start must be before" in backwards.text
    malformed = me.post(
        "/console/safety/routines",
        data={**csrf(me), "name": "Cash pickup", "window_start": "9am", "window_end": "11:00"},
    )
    assert malformed.status_code == 422 and "window_start" in malformed.text
    assert "No routine registered" in malformed.text
    assert 'value="9am"' in malformed.text and 'value="Cash pickup"' in malformed.text
    assert 'Earliest departure <span class="muted small">(America/Chicago)</span>' in malformed.text
    saved = me.post(
        "/console/safety/routines",
        data={
            **csrf(me),
            "name": "Cash pickup",
            "window_start": "09:00",
            "window_end": "11:00",
            "routes": "Main Street, Ring road",
        },
    )
    assert saved.status_code == 200 and "Routine saved" in saved.text
    routine_id = re.search(r'id="routine-([0-9A-Z]+)"', saved.text).group(1)
    trips = f"/console/safety/routines/{routine_id}/trips"
    bad = me.post(trips, data={**csrf(me), "departed_at": "yesterday", "route": "Main Street"})
    assert bad.status_code == 422 and "not a date and time" in bad.text
    other = client_for(Role.EMPLOYEE)
    stranger = other.post(trips, data={**csrf(other), "departed_at": "2026-03-01T09:00"})
    assert stranger.status_code == 404
    day = clock.now().date()
    for back, minute in ((4, 0), (3, 2), (2, 1), (1, 3)):
        when = f"{day - timedelta(days=back)}T09:{minute:02d}"
        logged = me.post(trips, data={**csrf(me), "departed_at": when, "route": "Main Street"})
        assert logged.status_code == 200 and "Trip logged" in logged.text
    section = logged.text.split(f'id="routine-{routine_id}"', 1)[1].split("</form>", 1)[0]
    assert "4 trips logged" in section
    assert "Predictable: departure time and route" in section
    assert "alternate between routes" in section
    # Suggestions are on the site's clock (Chicago), zone named, inside the 09:00-11:00 window.
    suggested = re.findall(
        r"<td>\d{4}-\d\d-\d\d (\d{2}):(\d{2}) C[SD]T</td><td>([^<]+)</td>", section
    )
    assert len(suggested) == 3
    assert all(9 * 60 <= int(h) * 60 + int(m) <= 11 * 60 for h, m, _ in suggested)
    assert suggested[0][2] == "Ring road"  # the route not taken lately comes first
    # A new route name joins the routine's routes.
    me.post(trips, data={**csrf(me), "departed_at": f"{day}T10:40", "new_route": "River road"})
    assert "River road" in me.get("/console/safety").text

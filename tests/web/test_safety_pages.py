"""The safety console page: a worker's own plan, timers and reports; the staff view."""

from __future__ import annotations

import json

from bastion.auth.permissions import Role
from bastion.core.events import EVENT_ALARM_RAISED, EVENT_LONE_WORKER, EVENT_SAFETY_REPORT


def csrf(client):
    return {"csrf_token": client.headers["X-CSRF-Token"]}


def payloads(hub, name):
    return [
        json.loads(r.payload)
        for r in hub.ledger.query(types=[name], limit=1000, newest_first=False)
    ]


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

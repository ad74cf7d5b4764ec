"""The safety routes end to end through signed-in clients (problem+json on bad input)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from bastion.auth.permissions import Role
from tests.conftest import add_call_tree
from tests.safety.conftest import ledger_payloads, raw_rows

PROBLEM = "application/problem+json"


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["detail"]
    return body


def test_guide_lists_factors_and_checklists(client_for):
    body = client_for(Role.EMPLOYEE).get("/api/safety/guide").json()
    assert {f["id"] for f in body["factors"]} >= {"working_alone", "visible_affiliations"}
    assert "verbal_written_threat" in {s["id"] for s in body["warning_signs"]}
    assert [s["id"] for s in body["doxing_steps"]] == [
        "document",
        "assess",
        "report",
        "lock_down",
        "monitor",
    ]


def test_assessment_is_private_until_shared(client_for):
    worker = client_for(Role.EMPLOYEE)
    other = client_for(Role.EMPLOYEE)
    manager = client_for(Role.SECURITY_MANAGER)
    created = worker.post(
        "/api/safety/assessments",
        json={"answers": {"working_alone": True, "specific_threats": True}, "notes": "ex"},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["level"] == "elevated" and body["progress"] == 0.0
    path = f"/api/safety/assessments/{body['id']}"

    _problem(other.get(path), 404)
    _problem(manager.get(path), 404)
    _problem(manager.get(f"/api/safety/shared-assessments/{body['id']}"), 404)
    assert manager.get("/api/safety/shared-assessments").json() == []
    assert other.get("/api/safety/assessments").json() == []
    _problem(other.put(f"{path}/sharing", json={"shared": True}), 404)

    action = body["plan"][0]["action_id"]
    updated = worker.put(f"{path}/actions/{action}", json={"done": True}).json()
    assert updated["done"] == 1 and updated["progress"] > 0
    _problem(worker.put(f"{path}/actions/not-an-action", json={"done": True}), 404)

    assert worker.put(f"{path}/sharing", json={"shared": True}).json()["shared"] is True
    shared = manager.get(f"/api/safety/shared-assessments/{body['id']}")
    assert shared.status_code == 200 and shared.json()["done"] == 1
    worker.put(f"{path}/sharing", json={"shared": False})
    _problem(manager.get(f"/api/safety/shared-assessments/{body['id']}"), 404)


def test_bad_assessment_input_is_a_clear_problem(client_for):
    worker = client_for(Role.EMPLOYEE)
    body = _problem(worker.post("/api/safety/assessments", json={"answers": {"x": True}}), 422)
    assert "unknown risk factor" in body["detail"]
    _problem(worker.post("/api/safety/assessments", json={}), 422)
    _problem(worker.post("/api/safety/assessments", json={"answers": {"working_alone": 7}}), 422)
    assert worker.get("/api/safety/assessments").json() == []


def _strip(timer: dict) -> dict:
    return {k: v for k, v in timer.items() if k not in {"id"}}


@pytest.mark.usefixtures("lone_worker_tree")
def test_duress_check_in_looks_normal_but_raises_priority_one_alarm(client_for, hub, clock):
    worker = client_for(Role.EMPLOYEE)
    pins = worker.put("/api/safety/pins", json={"checkin_pin": "2468", "duress_pin": "1357"})
    assert pins.json()["configured"] is True
    spec = {"task": "Night delivery", "interval_minutes": 20, "location": "Dock 2"}
    first = worker.post("/api/safety/timers", json=spec).json()
    second = worker.post("/api/safety/timers", json=spec).json()
    clock.advance(300)

    normal = worker.post(f"/api/safety/timers/{first['id']}/check-in", json={"pin": "2468"})
    duress = worker.post(f"/api/safety/timers/{second['id']}/check-in", json={"pin": "1357"})
    assert normal.status_code == duress.status_code == 200
    assert _strip(normal.json()) == _strip(duress.json())
    assert normal.headers.keys() == duress.headers.keys()
    flagged = worker.post(f"/api/safety/timers/{first['id']}/check-in", json={"duress": True})
    assert flagged.status_code == 200 and flagged.json()["checkins"] == 2

    alarms = ledger_payloads(hub, "alarm.raised")
    assert [(a["alarm_type"], a["priority"]) for a in alarms] == [("duress", 1), ("duress", 1)]
    assert "Dock 2" not in str(alarms) and "Night delivery" not in str(alarms)


@pytest.mark.usefixtures("lone_worker_tree")
def test_wrong_pin_finished_timer_and_malformed_input(client_for, clock):
    worker = client_for(Role.EMPLOYEE)
    worker.put("/api/safety/pins", json={"checkin_pin": "2468", "duress_pin": "1357"})
    timer = worker.post(
        "/api/safety/timers", json={"task": "Alarm call-out", "interval_minutes": 10}
    ).json()
    path = f"/api/safety/timers/{timer['id']}"

    body = _problem(worker.post(f"{path}/check-in", json={"pin": "1375"}), 422)
    assert "not recognised" in body["detail"] and "1375" not in str(body)
    _problem(worker.post(f"{path}/check-in", json={"pin": "13a5"}), 422)
    _problem(worker.post(f"{path}/extend", json={"minutes": 0}), 422)
    assert worker.get(path).json() == timer  # nothing was recorded

    _problem(
        worker.put("/api/safety/pins", json={"checkin_pin": "1111", "duress_pin": "1111"}), 422
    )
    _problem(worker.post("/api/safety/timers", json={"interval_minutes": 10}), 422)
    _problem(worker.post("/api/safety/timers", json={"task": "x", "interval_minutes": -1}), 422)

    extended = worker.post(f"{path}/extend", json={"minutes": 15, "pin": "2468"}).json()
    assert extended["due_at"] > timer["due_at"]
    finished = worker.post(f"{path}/finish", json={}).json()
    assert finished["status"] == "finished"
    body = _problem(worker.post(f"{path}/check-in", json={}), 409)
    assert "finished" in body["detail"]
    _problem(client_for(Role.EMPLOYEE).get(path), 404)


@pytest.mark.usefixtures("lone_worker_tree")
def test_timer_location_and_task_are_encrypted_at_rest(client_for, database):
    worker = client_for(Role.EMPLOYEE)
    worker.post(
        "/api/safety/timers",
        json={"task": "Inspect substation", "interval_minutes": 30, "location": "Elm Road 12"},
    )
    raw = " ".join(raw_rows(database, "SELECT * FROM safety_timers"))
    assert "substation" not in raw and "Elm Road" not in raw


def test_reports_reach_security_and_anonymous_ones_carry_no_name(client_for, hub, clock):
    worker = client_for(Role.EMPLOYEE)
    operator = client_for(Role.OPERATOR)
    anon = worker.post(
        "/api/safety/reports/suspicious-activity",
        json={
            "description": "Man photographing the loading door",
            "warning_signs": ["covert_photography", "loitering"],
            "anonymous": True,
        },
    )
    assert anon.status_code == 201, anon.text
    item = worker.post(
        "/api/safety/reports/suspicious-item",
        json={"description": "Backpack by the vault door", "indicators": ["no_owner"]},
    )
    call = worker.post(
        "/api/safety/reports/threat-call",
        json={
            "exact_words": "You will regret this",
            "call_time": (clock.now() - timedelta(minutes=1)).isoformat(),
            "caller_number": "+15550199",
            "voice": ["angry"],
            "background": ["music"],
        },
    )
    assert item.status_code == call.status_code == 201

    body = _problem(
        worker.post(
            "/api/safety/reports/suspicious-activity",
            json={"description": "x", "warning_signs": ["ufo"]},
        ),
        422,
    )
    assert "unknown warning sign" in body["detail"]
    _problem(worker.post("/api/safety/reports/threat-call", json={"exact_words": "x"}), 422)
    _problem(worker.get("/api/safety/staff/reports"), 403)

    listed = operator.get("/api/safety/staff/reports").json()
    assert {r["kind"] for r in listed} == {"suspicious_activity", "suspicious_item", "threat_call"}
    anonymous = next(r for r in listed if r["kind"] == "suspicious_activity")
    assert anonymous["anonymous"] is True and anonymous["reporter_id"] is None
    detail = operator.get(f"/api/safety/staff/reports/{call.json()['id']}").json()
    assert detail["details"]["caller_number"] == "+15550199"
    assert {r["kind"] for r in worker.get("/api/safety/reports").json()} == {
        "suspicious_item",
        "threat_call",
    }

    reports = ledger_payloads(hub, "safety.report")
    assert [r["subject"] for r in reports if r["anonymous"]] == [None]
    rows = hub.ledger.query(types=["safety.report", "alarm.raised"], limit=100)
    anonymous_rows = [r for r in rows if "suspicious_activity" in r.payload]
    assert anonymous_rows and not any(r.actor.startswith("user:") for r in anonymous_rows)
    assert sorted(a["alarm_type"] for a in ledger_payloads(hub, "alarm.raised")) == [
        "suspicious_activity",
        "suspicious_item",
        "threat_call",
    ]
    raw = " ".join(raw_rows(hub.db, "SELECT * FROM safety_reports"))
    assert "regret" not in raw and "+15550199" not in raw and "Backpack" not in raw


def test_doxing_workflow_through_the_api(client_for):
    worker = client_for(Role.EMPLOYEE)
    case = worker.post("/api/safety/doxing", json={"description": "Phone posted online"}).json()
    assert case["next_step"] == "document" and case["status"] == "open"
    path = f"/api/safety/doxing/{case['id']}"
    body = _problem(worker.post(f"{path}/steps", json={"step": "assess"}), 422)
    assert "exposed" in body["detail"]
    _problem(worker.post(f"{path}/steps", json={"step": "panic"}), 422)
    worker.post(f"{path}/steps", json={"step": "document", "notes": "screenshots saved"})
    after = worker.post(
        f"{path}/steps", json={"step": "assess", "exposed": ["phone", "employer"]}
    ).json()
    assert [s["step"] for s in after["steps"]] == ["document", "assess"]
    assert after["next_step"] == "report"
    _problem(client_for(Role.EMPLOYEE).get(path), 404)
    assert (
        client_for(Role.OPERATOR).get(f"/api/safety/staff/reports/{case['id']}").json()["kind"]
        == "doxing"
    )


@pytest.mark.usefixtures("site_hub")  # the dispensary: Chicago's clock
def test_routines_flag_predictable_departures(client_for):
    worker = client_for(Role.EMPLOYEE)
    routine = worker.post(
        "/api/safety/routines",
        json={"name": "Cash pickup", "window_start": "13:00", "window_end": "17:00"},
    ).json()
    _problem(
        worker.post(
            "/api/safety/routines",
            json={"name": "x", "window_start": "17:00", "window_end": "13:00"},
        ),
        422,
    )
    assert routine["timezone"] == "America/Chicago"  # the site's clock unless told otherwise
    west = worker.post(
        "/api/safety/routines",
        json={
            "name": "Night deposit",
            "window_start": "22:00",
            "window_end": "23:00",
            "timezone": "America/Los_Angeles",
        },
    )
    assert west.status_code == 201 and west.json()["timezone"] == "America/Los_Angeles"
    nowhere = worker.post(
        "/api/safety/routines",
        json={"name": "x", "window_start": "22:00", "window_end": "23:00", "timezone": "Moon"},
    )
    assert "'Moon' is not a time zone" in _problem(nowhere, 422)["detail"]
    path = f"/api/safety/routines/{routine['id']}"
    for day in range(1, 6):
        reply = worker.post(
            f"{path}/trips", json={"departed_at": f"2026-02-0{day}T14:0{day}:00+00:00"}
        )
        assert reply.status_code == 201
    _problem(worker.post(f"{path}/trips", json={"departed_at": "2026-02-01T14:00:00"}), 422)
    analysis = worker.get(f"{path}/analysis", params={"count": 5}).json()
    assert analysis["predictable_time"] is True and len(analysis["suggestions"]) == 5
    assert analysis["trips_considered"] == 5
    _problem(client_for(Role.EMPLOYEE).get(f"{path}/analysis"), 404)


@pytest.mark.usefixtures("lone_worker_tree")
def test_duress_becomes_an_alarm_in_the_operator_queue(client_for):
    worker = client_for(Role.EMPLOYEE)
    operator = client_for(Role.OPERATOR)
    timer = worker.post("/api/safety/timers", json={"task": "Close up", "interval_minutes": 5})
    worker.post(f"/api/safety/timers/{timer.json()['id']}/check-in", json={"duress": True})
    deadline = time.monotonic() + 10
    alarms: list[dict] = []
    while not alarms and time.monotonic() < deadline:
        alarms = operator.get("/api/alarms").json()
        time.sleep(0.02)
    assert [(a["alarm_type"], a["priority"]) for a in alarms] == [("duress", 1)]


def test_a_timer_that_would_alert_nobody_is_refused_and_nothing_is_recorded(client_for, site_hub):
    worker = client_for(Role.EMPLOYEE)
    body = _problem(
        worker.post("/api/safety/timers", json={"task": "Night count", "interval_minutes": 5}), 422
    )
    assert body["detail"].startswith(
        "Nobody would be alerted if you missed a check-in: call tree 'lone-worker' does not exist."
    )
    assert worker.get("/api/safety/timers").json() == []
    _problem(
        worker.post(
            "/api/safety/timers",
            json={"task": "Night count", "interval_minutes": 5, "site_id": "elsewhere"},
        ),
        404,
    )


def test_a_missed_check_in_alerts_the_sites_safety_tree(client_for, site_hub, clock, smtp_server):
    address = smtp_server.url("sup@example.com")
    add_call_tree(site_hub, "lone-worker", ("Supervisor", address), now=clock.now())
    worker = client_for(Role.EMPLOYEE)
    started = worker.post("/api/safety/timers", json={"task": "Night count", "interval_minutes": 5})
    assert started.status_code == 201, started.text

    clock.advance(301)
    assert worker.portal.call(site_hub.extras["safety"].tick) == 1
    worker.portal.call(site_hub.extras["notify"].drain)
    [mail] = smtp_server.to("sup@example.com")
    assert "missed a check-in" in mail and "Night count" not in mail

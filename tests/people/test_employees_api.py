"""Employees through the API: hiring with the duplicate check, the hiring gate, training,
roles mapped to levels, and the access review."""

from __future__ import annotations

import logging
from datetime import timedelta

from bastion.access.runtime import engine_of
from bastion.auth.permissions import Role
from bastion.core.events import EVENT_EMPLOYEE_CHANGED
from bastion.people import employees
from tests.people.conftest import SITE, ledger_payloads, raw


def hire(client, name="Dana Reyes", **extra):
    body = {"name": name, "role": "budtender", "site_id": SITE, **extra}
    return client.post("/api/employees", json=body)


def test_hiring_rejects_a_duplicate_and_keeps_the_name_encrypted(
    stored_site, client_for, database, caplog
):
    caplog.set_level(logging.DEBUG)
    hr = client_for(Role.HR)
    first = hire(hr)
    assert first.status_code == 201, first.text
    assert first.json()["background_check"] == "pending"
    again = hire(hr, name="  dana   REYES ")
    assert again.status_code == 409
    assert first.json()["id"] in again.json()["detail"]
    namesake = hire(hr, allow_duplicate=True)
    assert namesake.status_code == 201
    assert len(hr.get("/api/employees").json()) == 2
    stored = raw(database, "SELECT name FROM people")
    assert stored and all("Dana" not in value for value in stored)
    assert "Dana" not in caplog.text
    malformed = hr.post("/api/employees", json={"name": "", "site_id": SITE})
    assert malformed.status_code == 422
    assert len(hr.get("/api/employees").json()) == 2


def test_no_restricted_level_until_the_background_check_is_cleared(
    stored_site, client_for, site_hub, database, clock
):
    hr = client_for(Role.HR)
    manager = client_for(Role.SECURITY_MANAGER)
    pid = hire(hr).json()["id"]
    blocked = manager.post(f"/api/employees/{pid}/levels", json={"level_id": "vault"})
    assert blocked.status_code == 409
    assert "background check" in blocked.json()["detail"]
    # A level with nothing restricted in it passes the gate at once.
    ok = manager.post(f"/api/employees/{pid}/levels", json={"level_id": "sales"})
    assert ok.status_code == 200 and ok.json()["levels"] == ["sales"]
    today = clock.now().date()
    bad = [
        {"status": "cleared", "checked_on": today.isoformat()},  # no reference
        {
            "status": "cleared",
            "checked_on": (today + timedelta(days=1)).isoformat(),
            "reference": "BG-1",
        },
        {
            "status": "cleared",
            "checked_on": "2025-01-01",
            "reference": "BG-1",
            "expires_on": "2025-06-01",
        },
        {"status": "approved"},
    ]
    for body in bad:
        response = hr.put(f"/api/employees/{pid}/background-check", json=body)
        assert response.status_code == 422, body
    assert hr.get(f"/api/employees/{pid}").json()["background_check"] == "pending"
    cleared = hr.put(
        f"/api/employees/{pid}/background-check",
        json={
            "status": "cleared",
            "checked_on": today.isoformat(),
            "reference": "ACME-REF-998877",
            "expires_on": (today + timedelta(days=365)).isoformat(),
        },
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["background_current"] is True
    assert "reference" not in cleared.text.lower().replace("background_", "")
    granted = manager.post(f"/api/employees/{pid}/levels", json={"level_id": "vault"})
    assert granted.status_code == 200, granted.text
    assert granted.json()["levels"] == ["sales", "vault"]
    assert all(
        "ACME-REF" not in v for v in raw(database, "SELECT background_reference FROM people")
    )
    engine = engine_of(site_hub)
    assert engine is not None and engine.snapshot.people[pid].background == "cleared"
    actions = [p["action"] for p in ledger_payloads(site_hub, EVENT_EMPLOYEE_CHANGED.name)]
    assert "background_check" in actions
    # HR cannot grant levels; a reader cannot hire.
    assert hr.post(f"/api/employees/{pid}/levels", json={"level_id": "sales"}).status_code == 403
    assert client_for(Role.AUDITOR).post("/api/employees", json={"name": "X"}).status_code == 403


def test_training_with_evidence_gates_levels_that_require_it(stored_site, client_for, clock):
    hr = client_for(Role.HR)
    manager = client_for(Role.SECURITY_MANAGER)
    pid = hire(hr).json()["id"]
    now = clock.now()
    # The cash room is a restricted zone: it needs the background check, then the course.
    hr.put(
        f"/api/employees/{pid}/background-check",
        json={"status": "cleared", "checked_on": now.date().isoformat(), "reference": "R-1"},
    )
    blocked = manager.post(f"/api/employees/{pid}/levels", json={"level_id": "cash"})
    assert blocked.status_code == 409
    assert "needs current training in cash handling" in blocked.json()["detail"]
    future = hr.post(
        f"/api/employees/{pid}/training",
        json={"course": "cash_handling", "completed_at": (now + timedelta(days=1)).isoformat()},
    )
    assert future.status_code == 422
    added = hr.post(
        f"/api/employees/{pid}/training",
        json={
            "course": "cash_handling",
            "completed_at": (now - timedelta(days=300)).isoformat(),
            "expires_at": (now + timedelta(days=20)).isoformat(),
            "evidence": "hr-files/2025/cash-handling-cert.pdf",
        },
    )
    assert added.status_code == 201, added.text
    [state] = added.json()["training"]
    assert state["state"] == "expiring"
    assert state["evidence"] == "hr-files/2025/cash-handling-cert.pdf"
    expiring = hr.get("/api/employees/training/expiring").json()
    assert [(e["person_id"], e["course"]) for e in expiring] == [(pid, "cash_handling")]
    assert (
        manager.post(f"/api/employees/{pid}/levels", json={"level_id": "cash"}).status_code == 200
    )


def test_roles_map_to_levels_and_the_access_review_tracks_confirmation(
    stored_site, client_for, clock, database
):
    hr = client_for(Role.HR)
    manager = client_for(Role.SECURITY_MANAGER)
    pid = hire(hr).json()["id"]
    assert (
        manager.put("/api/employees/roles/budtender", json={"levels": ["nope"]}).status_code == 404
    )
    assert manager.put("/api/employees/roles/budtender", json={"levels": ["sales"]}).json() == [
        "sales"
    ]
    applied = manager.post(f"/api/employees/{pid}/apply-role", json={}).json()
    assert applied["granted"] == ["sales"] and applied["blocked"] == {}
    # An extra level outside the role is reported, then removed on request.
    hr.put(
        f"/api/employees/{pid}/background-check",
        json={"status": "cleared", "checked_on": clock.now().date().isoformat(), "reference": "R"},
    )
    manager.post(f"/api/employees/{pid}/levels", json={"level_id": "vault"})
    review = {r["level_id"]: r for r in manager.get("/api/access-review").json()}
    assert review["sales"]["in_role"] and review["sales"]["due"]
    assert not review["vault"]["in_role"] and review["vault"]["restricted"]
    confirmed = manager.post(
        "/api/access-review/confirm", json={"person_id": pid, "level_id": "sales"}
    )
    assert confirmed.status_code == 200
    assert confirmed.json()["confirmed_at"] is not None and confirmed.json()["due"] is False
    due = manager.get("/api/access-review", params={"due_only": True}).json()
    assert [r["level_id"] for r in due] == ["vault"]
    assert (
        manager.post(
            "/api/access-review/confirm", json={"person_id": pid, "level_id": "cash"}
        ).status_code
        == 404
    )
    trimmed = manager.post(f"/api/employees/{pid}/apply-role", json={"remove_excess": True}).json()
    assert trimmed["removed"] == ["vault"]
    assert hr.get(f"/api/employees/{pid}").json()["levels"] == ["sales"]
    # Ninety days later the confirmation is stale again.
    with database.sessions() as session:
        rows = employees.access_review(session=session, now=clock.now() + timedelta(days=91))
    assert [(r.level_id, r.due) for r in rows] == [("sales", True)]

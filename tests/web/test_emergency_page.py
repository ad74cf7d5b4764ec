"""The emergency console page: playbooks, one-click drill, live steps, muster board."""

from __future__ import annotations

from bastion.auth.permissions import Role
from bastion.web.emergency import DEMO_PANIC_KEY
from tests.automation.playbooks.conftest import badge


def test_viewer_sees_playbooks_but_no_buttons(site_hub, client_for):
    page = client_for(Role.AUDITOR).get("/console/emergency")
    assert page.status_code == 200
    assert 'data-playbook="armed_robbery"' in page.text and 'data-playbook="fire"' in page.text
    assert "hx-post" not in page.text and "packet-link" not in page.text
    assert client_for(Role.EMPLOYEE).get("/console/emergency").status_code == 403


def test_operator_runs_a_fire_drill_and_takes_the_roll_call(site_hub, client_for, clock):
    site_hub.ledger.append_sync([badge("p-1", "front-entry", "front-entry-rdr-in", at=clock.now())])
    operator = client_for(Role.OPERATOR)
    page = operator.get("/console/emergency")
    assert "/console/emergency/start/fire?drill=true" in page.text
    assert 'id="packet-link"' in page.text

    started = operator.post("/console/emergency/start/fire?drill=true")
    assert started.status_code == 204
    run_url = started.headers["HX-Redirect"]
    run_page = operator.get(run_url)
    assert run_page.status_code == 200
    assert 'id="drill-badge"' in run_page.text
    assert 'data-step="unlock-egress" data-status="simulated"' in run_page.text
    assert 'data-subject="person:p-1" data-status="unaccounted"' in run_page.text
    assert 'hx-trigger="every 3s"' in run_page.text

    run_id = run_url.rsplit("/", 1)[-1]
    panel = operator.post(f"/console/emergency/runs/{run_id}/muster/person:p-1")
    assert 'data-subject="person:p-1" data-status="safe"' in panel.text
    panel = operator.post(f"/console/emergency/runs/{run_id}/steps/call-fire")
    assert 'data-step="call-fire" data-status="done"' in panel.text
    assert operator.post(f"/console/emergency/runs/{run_id}/steps/call-fire").status_code == 409
    assert operator.get("/console/emergency/runs/nope").status_code == 404


def test_demo_panic_button_runs_the_robbery_playbook(site_hub, client_for):
    operator = client_for(Role.OPERATOR)
    assert operator.post("/console/emergency/panic").status_code == 404
    site_hub.extras[DEMO_PANIC_KEY] = "counter-panic-1"
    assert 'id="demo-panic"' in operator.get("/console/emergency").text
    assert operator.post("/console/emergency/panic").status_code == 204
    runs = operator.get("/api/playbooks/runs").json()
    assert [(r["playbook_id"], r["drill"], r["zone_id"]) for r in runs] == [
        ("armed_robbery", False, "sales-floor")
    ]


def test_an_operator_of_another_site_cannot_start_here(site_hub, client_for):
    elsewhere = client_for(Role.OPERATOR, site_id="other-site")
    assert elsewhere.post("/console/emergency/start/fire?drill=true").status_code == 403
    assert elsewhere.post("/api/playbooks/fire/runs", json={"drill": True}).status_code == 403
    assert client_for(Role.OPERATOR).get("/api/playbooks/runs").json() == []

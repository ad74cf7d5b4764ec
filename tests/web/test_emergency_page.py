"""The emergency console page: playbooks, one-click drill, live steps, muster board."""

from __future__ import annotations

import json

from bastion.auth.permissions import Role
from bastion.core.events import EVENT_PLAYBOOK_RUN, EVENT_SAFETY_REPORT
from bastion.site.loader import load_site_file
from bastion.web.emergency import DEMO_PANIC_KEY
from tests.automation.playbooks.conftest import badge
from tests.conftest import EXAMPLES


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


def test_a_drill_is_finished_in_the_console_and_links_its_report(site_hub, client_for, clock):
    site_hub.ledger.append_sync([badge("p-1", "front-entry", "front-entry-rdr-in", at=clock.now())])
    operator = client_for(Role.OPERATOR)
    run_url = operator.post("/console/emergency/start/fire?drill=true").headers["HX-Redirect"]
    run_id = run_url.rsplit("/", 1)[-1]
    page = operator.get(run_url).text
    assert 'id="finish-run"' in page and "Finish drill" in page

    # Roll call complete with someone unaccounted: a warning naming them, and a button
    # that asks before completing; a plain completion is refused.
    assert 'id="roll-call-warning"' in page and "1 person is not accounted for" in page
    plain = operator.post(f"/console/emergency/runs/{run_id}/steps/roll-call")
    assert 'data-step="roll-call" data-status="pending"' in plain.text
    assert 'id="panel-error"' in plain.text
    confirmed = operator.post(f"/console/emergency/runs/{run_id}/steps/roll-call?confirm=true")
    assert 'data-step="roll-call" data-status="done"' in confirmed.text

    finished = operator.post(f"/console/emergency/runs/{run_id}/finish")
    assert finished.status_code == 200
    assert 'id="finish-run"' not in finished.text
    assert f'href="/console/emergency/runs/{run_id}/report"' in finished.text
    report = operator.get(f"/console/emergency/runs/{run_id}/report")
    assert report.status_code == 200
    assert "Drill report: Fire" in report.text and 'data-kind="unaccounted"' in report.text
    assert (
        client_for(Role.AUDITOR).post(f"/console/emergency/runs/{run_id}/finish").status_code == 403
    )


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


def test_with_several_sites_a_run_starts_at_one_of_the_callers_sites(site_hub, client_for):
    site_hub.extras["sites"]["cultivation-main"] = load_site_file(EXAMPLES / "cultivation.yaml")
    operator = client_for(Role.OPERATOR, site_id="dispensary-main")
    page = operator.get("/console/emergency").text
    assert "/console/emergency/start/fire?drill=true&amp;site_id=dispensary-main" in page
    assert "packet.pdf?site_id=dispensary-main" in page and "cultivation-main" not in page
    assert operator.post("/console/emergency/start/fire?drill=true").status_code == 422
    here = operator.post("/console/emergency/start/fire?drill=true&site_id=dispensary-main")
    assert here.status_code == 204
    there = operator.post("/console/emergency/start/fire?drill=true&site_id=cultivation-main")
    assert there.status_code == 403
    runs = operator.get("/api/playbooks/runs").json()
    assert [r["site_id"] for r in runs] == ["dispensary-main"]


def _checklist(client, **fields):
    return {"csrf_token": client.headers["X-CSRF-Token"], **fields}


def _payloads(hub, name):
    return [
        json.loads(r.payload)
        for r in hub.ledger.query(types=[name], limit=1000, newest_first=False)
    ]


def test_bomb_threat_drill_checklist_is_filled_in_on_the_run_page(site_hub, client_for):
    operator = client_for(Role.OPERATOR)
    started = operator.post("/console/emergency/start/bomb_threat?drill=true")
    run_url = started.headers["HX-Redirect"]
    page = operator.get(run_url)
    assert 'id="threat-call-checklist"' in page.text
    assert 'name="csrf_token"' in page.text and 'name="exact_words"' in page.text
    assert (
        'name="voice" value="calm"' in page.text and 'name="background" value="street"' in page.text
    )
    # The checklist is not inside the polled panel, so a refresh never wipes it.
    panel, _, rest = page.text.partition('id="threat-call-checklist"')
    assert panel.count('id="run-panel"') == 1 and "hx-get" not in rest
    form_url = f"{run_url}/steps/checklist/form"
    # Missing words: a clear error, the step still pending, and what was typed kept.
    empty = operator.post(
        form_url,
        data=_checklist(
            operator, exact_words=" ", call_time="2026-03-07T08:55", caller_number="+1 555 0100"
        ),
    )
    assert empty.status_code == 422 and "exact words" in empty.text
    assert 'value="+1 555 0100"' in empty.text
    assert 'data-step="checklist" data-status="pending"' in empty.text
    odd = operator.post(
        form_url,
        data=_checklist(
            operator, exact_words="Bomb in the lobby", call_time="2026-03-07T08:55", voice="robot"
        ),
    )
    assert odd.status_code == 422 and "unknown voice trait(s) robot" in odd.text
    assert "Bomb in the lobby" in odd.text
    bad_time = operator.post(
        form_url, data=_checklist(operator, exact_words="Bomb", call_time="soon")
    )
    assert bad_time.status_code == 422 and "not a date and time" in bad_time.text
    done = operator.post(
        form_url,
        data=_checklist(
            operator,
            exact_words="There is a bomb in the lobby",
            call_time="2026-03-07T08:55",
            caller_number="+1 555 0100",
            duration_s="45",
            voice=["calm", "male"],
            background=["street"],
            steps_taken=["remain_calm", "write_down"],
        ),
    )
    assert done.status_code == 200 and "Drill: checklist checked" in done.text
    assert 'data-step="checklist" data-status="done"' in done.text
    assert 'id="threat-call-checklist"' not in done.text
    # A drill files nothing.
    assert [p for p in _payloads(site_hub, EVENT_SAFETY_REPORT.name)] == []
    again = operator.post(
        form_url, data=_checklist(operator, exact_words="x", call_time="2026-03-07T08:55")
    )
    assert again.status_code == 409


def test_a_real_bomb_threat_checklist_files_the_report_into_the_same_run(site_hub, client_for):
    operator = client_for(Role.OPERATOR)
    run_url = operator.post("/console/emergency/start/bomb_threat").headers["HX-Redirect"]
    auditor = client_for(Role.AUDITOR)
    assert 'id="threat-call-checklist"' not in auditor.get(run_url).text
    assert (
        auditor.post(
            f"{run_url}/steps/checklist/form",
            data=_checklist(auditor, exact_words="x", call_time="2026-03-07T08:55"),
        ).status_code
        == 403
    )
    assert (
        operator.post(
            f"{run_url}/steps/no-radios/form",
            data=_checklist(operator, exact_words="x", call_time="2026-03-07T08:55"),
        ).status_code
        == 404
    )
    done = operator.post(
        f"{run_url}/steps/checklist/form",
        data=_checklist(
            operator,
            exact_words="You have one hour",
            call_time="2026-03-07T08:55",
            voice="calm",
            background="street",
        ),
    )
    assert done.status_code == 200 and "report was filed" in done.text
    [filed] = _payloads(site_hub, EVENT_SAFETY_REPORT.name)
    assert filed["kind"] == "threat_call" and "hour" not in json.dumps(filed)
    operator.portal.call(site_hub.bus.drain)  # let the playbook trigger see the report
    runs = operator.get("/api/playbooks/runs").json()
    assert [r["playbook_id"] for r in runs] == ["bomb_threat"]  # the report joined this run
    skipped = [p for p in _payloads(site_hub, EVENT_PLAYBOOK_RUN.name) if p["action"] == "skipped"]
    assert [p["run_id"] for p in skipped] == [runs[0]["id"]]
    [step] = [s for s in runs[0]["steps"] if s["step_id"] == "checklist"]
    assert step["status"] == "done" and filed["report_id"] in step["detail"]

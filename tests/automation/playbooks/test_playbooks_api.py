"""The playbook API in the full app: permissions, runs and drills, forms, roll call, packet."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bastion.auth.permissions import Role
from bastion.automation.playbooks.packet import render_packet
from bastion.automation.playbooks.plan import load_plan
from bastion.core.context import Context
from bastion.notify import service as notify_service
from bastion.notify.schemas import CallTreeCreate, ChannelIn, ContactCreate, TierIn
from tests.automation.playbooks.conftest import SITE, badge
from tests.pdf_support import pdf_text

ACTOR = Context(actor="test")


def _trees(hub, smtp_server, clock) -> None:
    with hub.unit_of_work() as session:
        contact = notify_service.create_contact(
            session=session,
            data=ContactCreate(
                name="Manager",
                channels=[ChannelIn(kind="email", url=smtp_server.url("manager@example.com"))],
            ),
            context=ACTOR,
            now=clock.now(),
        )
        for name in ("police-dispatch", "all-staff", "management"):
            notify_service.create_tree(
                session=session,
                data=CallTreeCreate(name=name, tiers=[TierIn(contacts=[contact.id])]),
                context=ACTOR,
                now=clock.now(),
            )


def test_read_roles_list_but_cannot_start(site_hub, client_for):
    auditor = client_for(Role.AUDITOR)
    listed = auditor.get("/api/playbooks").json()
    assert {p["id"] for p in listed["playbooks"]} >= {"armed_robbery", "fire", "bomb_threat"}
    assert listed["load_errors"] == []
    shown = auditor.get("/api/playbooks/armed_robbery").json()
    assert shown["step_list"][0]["kind"] == "notify"
    assert "step alert-police: call tree 'police-dispatch' does not exist" in shown["problems"]
    assert auditor.post("/api/playbooks/fire/runs", json={"drill": True}).status_code == 403
    assert auditor.get("/api/playbooks/packet.pdf").status_code == 403
    assert client_for(Role.EMPLOYEE).get("/api/playbooks").status_code == 403


def test_drill_through_the_api_with_steps_report_and_finish(
    site_hub, client_for, smtp_server, clock
):
    _trees(site_hub, smtp_server, clock)
    operator = client_for(Role.OPERATOR)
    started = operator.post(
        "/api/playbooks/armed_robbery/runs",
        json={"drill": True, "zone_id": "sales-floor", "note": "Quarterly drill"},
    )
    assert started.status_code == 201, started.text
    run = started.json()
    assert run["drill"] and run["site_id"] == SITE
    assert {s["step_id"]: s["status"] for s in run["steps"]}["lock-vault"] == "simulated"

    clock.advance(30)
    done = operator.post(
        f"/api/playbooks/runs/{run['id']}/steps/confirm-police", json={"note": "called"}
    )
    assert done.status_code == 200
    step = {s["step_id"]: s for s in done.json()["steps"]}["confirm-police"]
    assert step["status"] == "done" and step["elapsed_s"] == 30
    again = operator.post(f"/api/playbooks/runs/{run['id']}/steps/confirm-police", json={})
    assert again.status_code == 409
    no_reason = operator.post(
        f"/api/playbooks/runs/{run['id']}/steps/watch-cameras", json={"outcome": "skipped"}
    )
    assert no_reason.status_code == 422

    finished = operator.post(f"/api/playbooks/runs/{run['id']}/finish")
    assert finished.json()["status"] == "finished"
    report = operator.get(f"/api/playbooks/runs/{run['id']}/report").json()
    kinds = {(g["kind"], g["step_id"]) for g in report["gaps"]}
    assert ("missed", "watch-cameras") in kinds and ("missed", "preserve-scene") in kinds
    assert report["unacknowledged"] == ["Manager"]
    assert smtp_server.messages == []
    listed = operator.get("/api/playbooks/runs").json()
    assert [r["id"] for r in listed] == [run["id"]]


def test_bomb_threat_form_is_checked_then_filed(site_hub, client_for, smtp_server, clock):
    _trees(site_hub, smtp_server, clock)
    operator = client_for(Role.OPERATOR)
    run = operator.post("/api/playbooks/bomb_threat/runs", json={}).json()
    url = f"/api/playbooks/runs/{run['id']}/steps/checklist"

    missing = operator.post(url, json={"answers": {"caller_number": "555"}})
    assert missing.status_code == 422
    assert "exact_words" in missing.json()["detail"]
    bad_voice = operator.post(
        url,
        json={
            "answers": {
                "exact_words": "There is a bomb in the vault",
                "call_time": clock.now().isoformat(),
                "voice": ["robotic-alien"],
            }
        },
    )
    assert bad_voice.status_code == 422 and "robotic-alien" in bad_voice.json()["detail"]
    pending = operator.get(f"/api/playbooks/runs/{run['id']}").json()
    assert {s["step_id"]: s["status"] for s in pending["steps"]}["checklist"] == "pending"

    good = operator.post(
        url,
        json={
            "answers": {
                "exact_words": "There is a bomb in the vault",
                "call_time": clock.now().isoformat(),
                "caller_number": "+1 555 0100",
                "voice": ["calm"],
                "background": ["street"],
            }
        },
    )
    assert good.status_code == 200, good.text
    step = {s["step_id"]: s for s in good.json()["steps"]}["checklist"]
    assert step["status"] == "done" and "threat-call report" in step["detail"]
    rows = site_hub.ledger.query(types=["safety.report"], limit=10)
    assert len(rows) == 1 and "555" not in rows[0].payload
    # The filed report does not start a second bomb-threat run.
    runs = operator.get("/api/playbooks/runs").json()
    assert [r["playbook_id"] for r in runs] == ["bomb_threat"]


def test_roll_call_and_presence_through_the_api(site_hub, client_for, smtp_server, clock):
    _trees(site_hub, smtp_server, clock)
    site_hub.ledger.append_sync([badge("p-1", "front-entry", "front-entry-rdr-in", at=clock.now())])
    operator = client_for(Role.OPERATOR)
    presence = operator.get("/api/playbooks/presence").json()
    assert [(p["subject"], p["zone_name"]) for p in presence["people"]] == [
        ("person:p-1", "Lobby and check-in")
    ]
    run = operator.post("/api/playbooks/fire/runs", json={"drill": True}).json()
    muster = operator.get(f"/api/playbooks/runs/{run['id']}/muster").json()
    assert muster["unaccounted"] == 1
    marked = operator.post(
        f"/api/playbooks/runs/{run['id']}/muster/person:p-1", json={"status": "safe"}
    )
    assert marked.status_code == 200 and marked.json()["safe"] == 1
    unknown = operator.post(f"/api/playbooks/runs/{run['id']}/muster/person:nobody", json={})
    assert unknown.status_code == 404
    timeline = operator.get("/api/playbooks/timeline", params={"person_id": "p-1"}).json()
    assert [(t["source"], t["type"]) for t in timeline] == [
        ("access", "access.decision"),
        ("ledger", "muster.roll_call"),
    ]


def test_packet_pdf_download(site_hub, client_for):
    response = client_for(Role.OPERATOR).get("/api/playbooks/packet.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type /Page\b", pdf)) == 4


def test_packet_content(dispensary, tmp_path):
    plan = load_plan(tmp_path, dispensary)
    assert plan is not None and plan.alarm_company is not None
    pdf = render_packet(
        dispensary, plan, generated_at=datetime(2026, 3, 7, tzinfo=UTC), compress=False
    )
    for text in (
        b"Law-enforcement packet",
        b"Example Alarm Monitoring Co.",
        b"+1 312 555 0150",
        b"CO2 cylinders",
        b"cam-vault-1",
        b"Site plan",
    ):
        assert text in pdf, text
    bare = render_packet(
        dispensary, None, generated_at=datetime(2026, 3, 7, tzinfo=UTC), compress=False
    )
    assert b"No emergency plan on file" in bare


def test_roll_call_complete_with_people_unaccounted_needs_confirmation(
    site_hub, client_for, smtp_server, clock
):
    _trees(site_hub, smtp_server, clock)
    site_hub.ledger.append_sync([badge("p-1", "front-entry", "front-entry-rdr-in", at=clock.now())])
    operator = client_for(Role.OPERATOR)
    run = operator.post("/api/playbooks/fire/runs", json={"drill": True}).json()
    url = f"/api/playbooks/runs/{run['id']}/steps/roll-call"
    refused = operator.post(url, json={})
    assert refused.status_code == 409
    assert "1 person is not accounted for" in refused.json()["detail"]
    steps = {
        s["step_id"]: s for s in operator.get(f"/api/playbooks/runs/{run['id']}").json()["steps"]
    }
    assert steps["roll-call"]["status"] == "pending"
    confirmed = operator.post(url, json={"confirm_unaccounted": True})
    assert confirmed.status_code == 200, confirmed.text
    step = {s["step_id"]: s for s in confirmed.json()["steps"]}["roll-call"]
    assert step["status"] == "done" and "not accounted for" in step["detail"]


def test_roll_call_with_everyone_safe_completes_without_confirmation(
    site_hub, client_for, smtp_server, clock
):
    _trees(site_hub, smtp_server, clock)
    site_hub.ledger.append_sync([badge("p-1", "front-entry", "front-entry-rdr-in", at=clock.now())])
    operator = client_for(Role.OPERATOR)
    run = operator.post("/api/playbooks/fire/runs", json={"drill": True}).json()
    operator.post(f"/api/playbooks/runs/{run['id']}/muster/person:p-1", json={"status": "safe"})
    done = operator.post(f"/api/playbooks/runs/{run['id']}/steps/roll-call", json={})
    assert done.status_code == 200, done.text
    step = {s["step_id"]: s for s in done.json()["steps"]}["roll-call"]
    assert step["detail"] == "everyone accounted for"


def test_packet_names_its_time_in_the_site_zone(dispensary, tmp_path):
    """The packet's 'Prepared' line is in the site's time (Chicago), zone named, not UTC."""
    plan = load_plan(tmp_path, dispensary)
    made = datetime(2026, 12, 3, 15, 30, tzinfo=UTC)
    text = pdf_text(render_packet(dispensary, plan, generated_at=made))
    assert dispensary.site.timezone == "America/Chicago"
    assert "Prepared 2026-12-03 09:30 CST (America/Chicago time)" in text
    assert "15:30" not in text

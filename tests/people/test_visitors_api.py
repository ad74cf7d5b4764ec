"""Visitors through the API: pre-registration, check-in with ID and watchlist checks, the
temporary escorted credential, check-out, badge, log export, overstays and retention."""

from __future__ import annotations

import csv
import io
import logging
from datetime import date, timedelta

import pytest

from bastion.access.runtime import engine_of
from bastion.auth.permissions import Role
from bastion.automation.playbooks import presence
from bastion.core.events import EVENT_ALARM_RAISED, EVENT_VISIT
from bastion.people import visitors
from bastion.people.runtime import PeopleWorker
from tests.pdf_support import pdf_text
from tests.people.conftest import SITE, document, later, ledger_payloads, raw


@pytest.fixture
def host_id(stored_site, client_for):
    hr = client_for(Role.HR)
    return hr.post("/api/employees", json={"name": "Hana Host", "site_id": SITE}).json()["id"]


def visit_body(clock, host_id, **extra):
    return {
        "site_id": SITE,
        "name": "Vic Visitor",
        "company": "Acme HVAC",
        "purpose": "Service the rooftop unit",
        "host_id": host_id,
        "areas": ["lobby", "sales-floor"],
        "until": later(clock, hours=4),
        **extra,
    }


def test_pre_registered_visit_checks_in_and_out_with_a_limited_escorted_credential(
    host_id, client_for, clock, site_hub, database, caplog
):
    caplog.set_level(logging.DEBUG)
    desk = client_for(Role.OPERATOR)
    created = desk.post("/api/visitors", json=visit_body(clock, host_id))
    assert created.status_code == 201, created.text
    visit = created.json()
    assert visit["status"] == "expected" and visit["escort_required"] is True
    vid = visit["id"]
    # Check-out before check-in is refused; the visit is untouched.
    early = desk.post(f"/api/visitors/{vid}/check-out", json={})
    assert early.status_code == 409 and "never checked in" in early.json()["detail"]
    # Bad documents: expired, malformed, missing. Nothing is lost.
    expired = desk.post(
        f"/api/visitors/{vid}/check-in", json={"document": document(expires=date(2026, 3, 1))}
    )
    assert expired.status_code == 422 and "expired on 2026-03-01" in expired.json()["detail"]
    malformed = desk.post(f"/api/visitors/{vid}/check-in", json={"document": document("12!")})
    assert (
        malformed.status_code == 422 and "malformed passport number" in malformed.json()["detail"]
    )
    missing = desk.post(f"/api/visitors/{vid}/check-in", json={})
    assert missing.status_code == 422
    assert desk.get(f"/api/visitors/{vid}").json()["status"] == "expected"
    checked = desk.post(f"/api/visitors/{vid}/check-in", json={"document": document("x 123 4567")})
    assert checked.status_code == 200, checked.text
    on = checked.json()
    assert on["status"] == "on_site" and on["id_type"] == "passport" and on["badge_number"]
    assert "1234567" not in checked.text
    # The engine knows a visitor (escort rule) whose badge opens only the areas until the end.
    engine = engine_of(site_hub)
    assert engine is not None
    person = engine.snapshot.people[on["person_id"]]
    assert person.kind == "visitor"
    cred = engine.snapshot.creds[on["credential_id"]]
    assert cred.expires == pytest.approx((clock.now() + timedelta(hours=4)).timestamp())
    level = engine.snapshot.levels[f"visit-{vid.lower()}"]
    doors = {key.split("/")[-1] for key in level.doors}
    assert "vault-door" not in doors and doors
    # Mustering sees the visitor with the host.
    with database.sessions() as session:
        [present] = visitors.visitors_on_site(session, SITE)
        assert (present.name, present.host) == ("Vic Visitor", "Hana Host")
        # … and so does the muster board, through the visitor-log presence source.
        site = site_hub.extras["sites"][SITE]
        mustered = {p.subject: p for p in presence.on_site(session, site, clock.now())}
    entry = mustered[f"person:{on['person_id']}"]
    assert entry.name == "Vic Visitor (visitor of Hana Host)" and entry.source == "visitor log"
    assert desk.get("/api/visitors/on-site", params={"site_id": SITE}).json()[0]["visit_id"] == vid
    # The badge is a PDF.
    pdf = desk.get(f"/api/visitors/{vid}/badge.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # Valid until the frozen 15:00 UTC + 4 h, printed in Chicago time with the zone.
    assert "Until: 2026-03-07 13:00 CST\r" in pdf_text(pdf.content)
    assert desk.post(f"/api/visitors/{vid}/check-in", json={}).status_code == 409
    out = desk.post(f"/api/visitors/{vid}/check-out", json={"badge_returned": True})
    assert out.status_code == 200 and out.json()["status"] == "checked_out"
    assert engine.snapshot.creds[on["credential_id"]].revoked
    assert f"visit-{vid.lower()}" not in engine.snapshot.levels
    assert desk.post(f"/api/visitors/{vid}/check-out", json={}).status_code == 409
    # Personal data: encrypted at rest, never in the ledger or the logs.
    stored = raw(database, "SELECT name, id_number, purpose FROM visits")
    assert not any("Vic" in v or "1234567" in v or "rooftop" in v for v in stored)
    actions = [p["action"] for p in ledger_payloads(site_hub, EVENT_VISIT.name)]
    assert actions == ["pre_registered", "checked_in", "checked_out"]
    assert "Vic" not in str(ledger_payloads(site_hub, EVENT_VISIT.name))
    assert "Vic Visitor" not in caplog.text and "1234567" not in caplog.text


def test_vault_is_refused_and_restricted_areas_need_a_managers_approval(host_id, client_for, clock):
    desk = client_for(Role.OPERATOR)
    manager = client_for(Role.SECURITY_MANAGER)
    vault = desk.post("/api/visitors", json=visit_body(clock, host_id, areas=["lobby", "vault"]))
    assert vault.status_code == 409 and "vault" in vault.json()["detail"]
    for client in (desk, manager):
        again = client.post(
            "/api/visitors",
            json=visit_body(clock, host_id, areas=["vault"], approve_restricted=True),
        )
        assert again.status_code in (403, 409)
    restricted = desk.post(
        "/api/visitors", json=visit_body(clock, host_id, areas=["back-of-house"])
    )
    assert restricted.status_code == 409 and "approve" in restricted.json()["detail"]
    self_approved = desk.post(
        "/api/visitors",
        json=visit_body(clock, host_id, areas=["back-of-house"], approve_restricted=True),
    )
    assert self_approved.status_code == 403
    approved = manager.post(
        "/api/visitors",
        json=visit_body(clock, host_id, areas=["back-of-house"], approve_restricted=True),
    )
    assert approved.status_code == 201 and approved.json()["approved_by"].startswith("user:")
    unknown = desk.post("/api/visitors", json=visit_body(clock, host_id, areas=["moon"]))
    assert unknown.status_code == 422
    backwards = desk.post(
        "/api/visitors", json=visit_body(clock, host_id, until=later(clock, hours=-1))
    )
    assert backwards.status_code == 422
    assert [v["status"] for v in desk.get("/api/visitors").json()] == ["expected"]


def test_watchlist_match_is_refused_recorded_and_alarmed(
    host_id, client_for, clock, site_hub, database
):
    desk = client_for(Role.OPERATOR)
    manager = client_for(Role.SECURITY_MANAGER)
    assert (
        desk.post("/api/visitors/watchlist", json={"name": "x", "reason": "y"}).status_code == 403
    )
    entry = manager.post(
        "/api/visitors/watchlist",
        json={"name": "Mal Actor", "id_number": "Z9876543", "reason": "threatened staff"},
    )
    assert entry.status_code == 201
    assert all(
        "Mal" not in v and "threatened" not in v
        for v in raw(database, "SELECT name, reason FROM visitor_watchlist")
    )
    by_name = desk.post("/api/visitors", json=visit_body(clock, host_id, name="mal  actor"))
    assert by_name.status_code == 409 and by_name.json()["visit_id"]
    # Same document under another name: caught at check-in.
    walk = desk.post(
        "/api/visitors/walk-in",
        json=visit_body(clock, host_id, name="M. A.", document=document("Z9876543")),
    )
    assert walk.status_code == 409
    statuses = sorted(v["status"] for v in desk.get("/api/visitors").json())
    assert statuses == ["refused", "refused"]
    alarms = [
        p
        for p in ledger_payloads(site_hub, EVENT_ALARM_RAISED.name)
        if p["alarm_type"] == "visitor_watchlist"
    ]
    assert len(alarms) == 2 and all("Mal" not in a["message"] for a in alarms)


def test_escort_ratio_limits_visitors_per_host(host_id, client_for, clock):
    desk = client_for(Role.OPERATOR)
    for n in range(visitors.MAX_VISITORS_PER_HOST):
        r = desk.post(
            "/api/visitors/walk-in",
            json=visit_body(clock, host_id, name=f"Guest {n}", document=document(f"P00000{n}")),
        )
        assert r.status_code == 201, r.text
    sixth = desk.post(
        "/api/visitors/walk-in",
        json=visit_body(clock, host_id, name="Guest 6", document=document("P0000099")),
    )
    assert sixth.status_code == 409 and "escorts 5" in sixth.json()["detail"]


async def test_overstay_raises_an_alarm_and_old_visits_are_purged(
    stored_site, database, site_hub, clock
):
    from bastion.people import employees
    from tests.people.conftest import CTX

    with database.unit_of_work() as session:
        host = employees.hire(
            session=session, name="Host", site_id=SITE, context=CTX, now=clock.now()
        )
        visit = visitors.register(
            session=session,
            site=stored_site,
            name="Olly Overstay",
            company=None,
            purpose="meeting",
            host_id=host.id,
            areas=["lobby"],
            expected_at=clock.now(),
            until=clock.now() + timedelta(hours=1),
            document=visitors.IdentityDocument("driver_licence", "D-1234", date(2030, 1, 1)),
            approved_by=None,
            walk_in=True,
            context=CTX,
            now=clock.now(),
        )
        visitors.check_in(
            session=session,
            visit_id=visit.id,
            document=None,
            card=None,
            hasher=site_hub.hash_credential,
            context=CTX,
            now=clock.now(),
        )
    worker = PeopleWorker(site_hub)
    assert (await worker.tick()).overstays == 0
    clock.advance(2 * 3600)
    assert (await worker.tick()).overstays == 1
    assert (await worker.tick()).overstays == 0
    alarms = [
        p
        for p in ledger_payloads(site_hub, EVENT_ALARM_RAISED.name)
        if p["alarm_type"] == "visitor_overstay"
    ]
    assert len(alarms) == 1 and visit.id in alarms[0]["message"]
    with database.unit_of_work() as session:
        visitors.check_out(
            session=session, visit_id=visit.id, badge_returned=False, context=CTX, now=clock.now()
        )
        text = visitors.export_log(
            session=session, site_ids=None, since=None, until=None, context=CTX, now=clock.now()
        )
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert (
        row["full_name"] == "Olly Overstay"
        and row["purpose"] == "meeting"
        and row["host"] == "Host"
    )
    assert (
        row["arrival"]
        and row["departure"]
        and row["badge_number"]
        and row["id_type"] == "driver_licence"
    )
    assert "D-1234" not in text
    # Kept for the retention period, then purged (and gone from exports).
    clock.advance(visitors.RETENTION_DAYS * 86400 + 86400)
    assert (await worker.tick()).purged == 1
    with database.sessions() as session:
        assert visitors.list_visits(session=session) == []


def test_log_export_has_the_state_fields_and_is_ledgered(host_id, client_for, clock, site_hub):
    desk = client_for(Role.OPERATOR)
    r = desk.post(
        "/api/visitors/walk-in",
        json=visit_body(clock, host_id, name="=cmd|calc", document=document()),
    )
    assert r.status_code == 201
    export = desk.get("/api/visitors/log.csv", params={"site_id": SITE})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert set(visitors.LOG_FIELDS) <= set(rows[0])
    assert rows[0]["full_name"] == "'=cmd|calc"
    assert client_for(Role.AUDITOR).get("/api/visitors/log.csv").status_code == 403
    assert [p["action"] for p in ledger_payloads(site_hub, EVENT_VISIT.name)][-1] == "exported"

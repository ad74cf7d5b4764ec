"""Compliance routes over HTTP: the officer's day, bad bodies, and another site's officer."""

from __future__ import annotations

from datetime import timedelta

import pypdfium2 as pdfium
import pytest
import yaml

from bastion.auth.permissions import Role
from bastion.core.context import Context
from bastion.core.ports import register_clip_source
from bastion.site import service as site_service
from bastion.site.loader import load_site_file

from .conftest import EXAMPLES

SITE = "dispensary-main"
OTHER = "cultivation-main"
BASE = f"/api/sites/{SITE}/compliance"


@pytest.fixture
def two_sites(site_hub, dispensary, clock):
    cultivation = load_site_file(EXAMPLES / "cultivation.yaml")
    site_hub.extras["sites"][OTHER] = cultivation
    with site_hub.unit_of_work() as session:
        for site in (dispensary, cultivation):
            site_service.import_site(
                session=session, site=site, context=Context(actor="test"), now=clock.now()
            )
    return site_hub


def test_an_officer_checks_records_reports_and_audits_a_site(two_sites, client_for, clock):
    officer = client_for(Role.COMPLIANCE_OFFICER, site_id=SITE)
    profile = yaml.safe_load((EXAMPLES / "dispensary.compliance.yaml").read_text())
    put = officer.put(
        f"{BASE}/settings", json={"state": "IL", "license": "retail", "profile": profile}
    )
    assert put.status_code == 200, put.text
    report = officer.get(f"{BASE}/report").json()
    assert report["state"] == "IL" and report["counts"]["fail"] >= 1
    now = clock.now()
    added = officer.post(
        f"{BASE}/records",
        json={"kind": "inventory_count", "at": (now - timedelta(hours=1)).isoformat(), "by": "Ana"},
    )
    assert added.status_code == 201, added.text
    kept = officer.post(f"{BASE}/check").json()
    found = {f["rule"]: f for f in kept["findings"]}
    assert found["IL-INV-001"]["status"] == "pass"

    incident = officer.post(
        f"{BASE}/incidents",
        json={"type": "theft", "discovered_at": now.isoformat(), "description": "jar missing"},
    )
    assert incident.status_code == 201, incident.text
    (task,) = incident.json()["tasks"]
    assert task["status"] == "open" and task["due_at"]
    record_id = incident.json()["record"]["id"]
    done = officer.post(
        f"{BASE}/incidents/{record_id}/notified",
        json={"notified_at": now.isoformat(), "reference": "ISP case 1"},
    )
    assert done.json()["tasks"][0]["status"] == "done"

    action = officer.post(
        f"{BASE}/actions",
        json={
            "rule": "IL-ALM-001",
            "title": "Fit a contact on the dock roll-up door",
            "owner": "Facilities lead",
            "due_on": "2026-12-31",
        },
    ).json()

    class Recorder:
        def clip_url(self, camera_id, start, end):
            return f"https://nvr.example/{camera_id}.mp4"

    register_clip_source(two_sites.extras, SITE, Recorder())
    pdf = officer.get(f"{BASE}/audit.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    doc = pdfium.PdfDocument(pdf.content)
    try:
        first = doc[0].get_textpage().get_text_range()
        whole = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()
    assert "IL-ALM-001" in first and "Facilities lead" in first
    assert "https://nvr.example/cam-vault-1.mp4" in whole
    closed = officer.post(f"{BASE}/actions/{action['id']}/close", json={"note": "contact fitted"})
    assert closed.json()["status"] == "closed"

    retention = officer.get(f"{BASE}/retention").json()
    assert {p["record_class"]: p["days"] for p in retention["policy"]}["inventory"] == 1096
    hold = officer.post(
        f"{BASE}/holds", json={"record_class": "incident_register", "reason": "case"}
    )
    assert hold.status_code == 201
    assert officer.post(f"{BASE}/purge").status_code == 200


def test_bad_bodies_get_plain_errors(two_sites, client_for):
    officer = client_for(Role.COMPLIANCE_OFFICER, site_id=SITE)
    bad = officer.put(f"{BASE}/settings", json={"state": "IL", "profile": {"video": {"fps": 3}}})
    assert bad.status_code == 422 and "profile.video.fps" in bad.text
    assert officer.put(f"{BASE}/settings", json={"state": "ZZ"}).status_code == 422
    naive = officer.post(
        f"{BASE}/records", json={"kind": "inventory_count", "at": "2026-12-01T10:00"}
    )
    assert naive.status_code == 422 and "time zone" in naive.text
    officer.put(f"{BASE}/settings", json={"state": "IL"})
    override = officer.put(
        f"{BASE}/overrides/IL-VID-003", json={"params": {"min_days": "lots"}, "reason": "typo"}
    )
    assert override.status_code == 422 and "min_days" in override.text
    unknown = officer.put(f"{BASE}/overrides/IL-XXX-999", json={"params": {}, "reason": "why"})
    assert unknown.status_code == 422 and "no rule 'IL-XXX-999'" in unknown.text


def test_an_officer_of_one_site_cannot_act_on_another(two_sites, client_for, clock):
    ours = client_for(Role.COMPLIANCE_OFFICER, site_id=SITE)
    theirs = client_for(Role.COMPLIANCE_OFFICER, site_id=OTHER)
    ours.put(f"{BASE}/settings", json={"state": "IL"})
    record = ours.post(
        f"{BASE}/incidents",
        json={"type": "loss", "discovered_at": clock.now().isoformat(), "description": "lost"},
    ).json()["record"]
    assert theirs.get(f"{BASE}/report").status_code == 403
    assert theirs.get(f"{BASE}/records").status_code == 403
    assert theirs.get(f"{BASE}/audit.pdf").status_code == 403
    assert theirs.post(f"{BASE}/purge").status_code == 403
    # Naming our record under their own site does not reach it either.
    moved = theirs.post(
        f"/api/sites/{OTHER}/compliance/incidents/{record['id']}/notified",
        json={"notified_at": clock.now().isoformat(), "reference": "x"},
    )
    assert moved.status_code == 404

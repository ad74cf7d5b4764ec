"""The people console page: hiring gate, training, access review and offboarding end to end."""

from __future__ import annotations

import re

from bastion.auth.permissions import Role
from tests.people.conftest import NOW, SITE


def csrf(client):
    return {"csrf_token": client.headers["X-CSRF-Token"]}


def test_hr_records_checks_and_training_and_offboards_from_the_page(
    stored_site, client_for, database, clock
):
    hr = client_for(Role.HR)
    manager = client_for(Role.SECURITY_MANAGER)
    pid = hr.post("/api/employees", json={"name": "Pat Page", "site_id": SITE}).json()["id"]
    manager.post(f"/api/employees/{pid}/levels", json={"level_id": "sales"})
    page = hr.get("/console/people")
    assert page.status_code == 200 and "Pat Page" in page.text and "Offboard now" in page.text
    assert (
        'id="access-review"' in page.text and "Confirm</button>" not in page.text
    )  # HR cannot confirm
    no_ref = hr.post(
        f"/console/people/{pid}/background-check",
        data={**csrf(hr), "status": "cleared", "checked_on": "2026-03-01"},
    )
    assert no_ref.status_code == 422 and "reference" in no_ref.text
    ok = hr.post(
        f"/console/people/{pid}/background-check",
        data={
            **csrf(hr),
            "status": "cleared",
            "checked_on": "2026-03-01",
            "reference": "BG-77",
            "expires_on": "2027-03-01",
        },
    )
    assert (
        "Background check recorded" in ok.text
        and "until 2027-03-01" in ok.text
        and "BG-77" not in ok.text
    )
    trained = hr.post(
        f"/console/people/{pid}/training",
        data={
            **csrf(hr),
            "course": "cash_handling",
            "completed_at": "2026-03-01T09:00",
            "expires_at": "2026-03-20T09:00",
            "evidence": "certs/pat.pdf",
        },
    )
    assert "Training recorded" in trained.text and "cash handling: expiring" in trained.text
    confirmed = manager.post(
        "/console/access-review/confirm",
        data={**csrf(manager), "person_id": pid, "level_id": "sales"},
    )
    assert "Access confirmed" in confirmed.text
    unconfirmed = hr.post(f"/console/people/{pid}/offboard", data={**csrf(hr), "reason": "left"})
    assert unconfirmed.status_code == 422 and "confirm" in unconfirmed.text
    done = hr.post(
        f"/console/people/{pid}/offboard",
        data={**csrf(hr), "reason": "left", "confirm": "offboard"},
    )
    assert done.status_code == 200 and 'id="offboarding-report"' in done.text
    assert "Access clear" in done.text and 'data-clear="false"' not in done.text
    oid = re.search(r"/console/people/offboarding/([0-9A-Z]{26})/secrets/", done.text)
    assert oid is None  # HR sees the checklist but security ticks it off
    report_url = str(done.url)
    view = manager.get(report_url)
    items = re.findall(
        r'action="(/console/people/offboarding/[0-9A-Z]{26}/secrets/\d+/rotated)"', view.text
    )
    assert len(items) == 3
    for action in items:
        manager.post(action, data={**csrf(manager), "note": "changed"})
    final = manager.get(report_url)
    assert "Complete" in final.text and "Nothing of this person" in final.text
    again = hr.post(
        f"/console/people/{pid}/offboard", data={**csrf(hr), "reason": "x", "confirm": "offboard"}
    )
    assert again.status_code == 409 and "already offboarded" in again.text


def test_report_page_shows_what_is_left(stored_site, client_for, database, site_hub):
    hr = client_for(Role.HR)
    pid = hr.post("/api/employees", json={"name": "Rae Left", "site_id": SITE}).json()["id"]
    row = hr.post("/api/offboarding", json={"person_id": pid, "reason": "ended"}).json()
    with database.unit_of_work() as session:
        from bastion.access.cards import parse_card

        # A badge enrolled behind the offboarding's back (straight in the database).
        from bastion.access.models import Credential

        session.add(
            Credential(
                id="01TESTCREDENTIAL0000000000",
                person_id=pid,
                kind="card",
                card_hash=site_hub.hash_credential(
                    parse_card("h10301:1:7").canonical, purpose="card"
                ),
                revoked=False,
                revoked_reason="",
                created_at=NOW,
            )
        )
    page = hr.get(f"/console/people/offboarding/{row['id']}")
    assert (
        "Access remains" in page.text and "01TESTCREDENTIAL0000000000 is not revoked" in page.text
    )

"""The visitors console page: reading it, and reception's actions end to end through forms."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bastion.access import service as access_service
from bastion.access.snapshot import LevelSpec
from bastion.auth.permissions import Role
from bastion.core.context import Context
from bastion.people import employees
from bastion.site import service as site_service

SITE = "dispensary-main"
CTX = Context(actor="test")


@pytest.fixture
def host_id(site_hub, dispensary, database, clock):
    with database.unit_of_work() as session:
        site_service.import_site(session=session, site=dispensary, context=CTX, now=clock.now())
        access_service.put_level(
            session=session,
            spec=LevelSpec(id="sales", site_id=SITE, zones=("sales-floor",)),
            name="Sales",
            context=CTX,
            now=clock.now(),
        )
        return employees.hire(
            session=session, name="Hana Host", site_id=SITE, context=CTX, now=clock.now()
        ).id


def csrf(client):
    return client.headers["X-CSRF-Token"]


def local(clock, hours):
    # The page reads datetime-local fields in the site's zone (America/Chicago).
    from zoneinfo import ZoneInfo

    return (
        (clock.now() + timedelta(hours=hours))
        .astimezone(ZoneInfo("America/Chicago"))
        .strftime("%Y-%m-%dT%H:%M")
    )


def test_reception_registers_checks_in_and_out_through_the_page(host_id, client_for, clock):
    desk = client_for(Role.OPERATOR)
    page = desk.get("/console/visitors")
    assert page.status_code == 200 and 'id="register-form"' in page.text
    # Times typed into the form are the site's: the label names its zone.
    assert 'Leaves by <span class="muted small">(America/Chicago)</span>' in page.text
    form = {
        "csrf_token": csrf(desk),
        "site_id": SITE,
        "name": "Pia Page",
        "purpose": "Audit",
        "host_id": host_id,
        "areas": ["lobby", "sales-floor"],
        "until": local(clock, 3),
    }
    vault = desk.post("/console/visitors/register", data={**form, "areas": ["vault"]})
    assert vault.status_code == 409 and "never admitted" in vault.text
    restricted = desk.post("/console/visitors/register", data={**form, "areas": ["back-of-house"]})
    assert restricted.status_code == 409 and "restricted area" in restricted.text
    done = desk.post("/console/visitors/register", data=form)
    assert done.status_code == 200 and "Visitor pre-registered" in done.text
    vid = re.search(r'<tr data-visit="([0-9A-Z]{26})">', done.text).group(1)
    early = desk.post(f"/console/visitors/{vid}/check-out", data={"csrf_token": csrf(desk)})
    assert early.status_code == 409 and "never checked in" in early.text
    expired = desk.post(
        f"/console/visitors/{vid}/check-in",
        data={
            "csrf_token": csrf(desk),
            "id_type": "passport",
            "id_number": "A1234567",
            "id_expires_on": "2020-01-01",
        },
    )
    assert expired.status_code == 422 and "expired on 2020-01-01" in expired.text
    ok = desk.post(
        f"/console/visitors/{vid}/check-in",
        data={
            "csrf_token": csrf(desk),
            "id_type": "passport",
            "id_number": "A1234567",
            "id_expires_on": "2031-01-01",
        },
    )
    assert "Visitor checked in" in ok.text and "escort required" in ok.text
    badge = desk.get(f"/console/visitors/{vid}/badge.pdf")
    assert badge.content.startswith(b"%PDF")
    log = desk.get("/console/visitors/log.csv")
    assert "Pia Page" in log.text and "A1234567" not in log.text
    out = desk.post(f"/console/visitors/{vid}/check-out", data={"csrf_token": csrf(desk)})
    assert "Visitor checked out" in out.text
    # No CSRF token: refused, nothing changes.
    assert (
        desk.post(
            "/console/visitors/register",
            data={**form, "csrf_token": ""},
            headers={"X-CSRF-Token": ""},
        ).status_code
        == 403
    )


def test_walk_in_through_the_page_and_read_only_roles(host_id, client_for, clock):
    desk = client_for(Role.OPERATOR)
    form = {
        "csrf_token": csrf(desk),
        "site_id": SITE,
        "name": "Walt Walkin",
        "purpose": "Delivery",
        "host_id": host_id,
        "areas": ["lobby"],
        "until": local(clock, 1),
        "walk_in": "on",
    }
    missing = desk.post("/console/visitors/register", data=form)
    assert missing.status_code == 422 and "identity document" in missing.text
    malformed = desk.post(
        "/console/visitors/register",
        data={**form, "id_type": "state_id", "id_number": "!!", "id_expires_on": "2030-01-01"},
    )
    assert malformed.status_code == 422 and "malformed state id number" in malformed.text
    ok = desk.post(
        "/console/visitors/register",
        data={**form, "id_type": "state_id", "id_number": "S-12345", "id_expires_on": "2030-01-01"},
    )
    assert "Visitor checked in" in ok.text and "Walt Walkin" in ok.text
    auditor = client_for(Role.AUDITOR)
    seen = auditor.get("/console/visitors")
    assert (
        seen.status_code == 200
        and "Walt Walkin" in seen.text
        and 'id="read-only-note"' in seen.text
    )
    assert "register-form" not in seen.text
    assert auditor.post("/console/visitors/register", data=form).status_code == 403
    assert client_for(Role.EMPLOYEE).get("/console/visitors").status_code == 403

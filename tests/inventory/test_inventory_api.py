"""The inventory routes: who may do what, at which site; files over HTTP; refusals kept."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bastion.auth.permissions import Role
from bastion.inventory.models import InvPackage
from tests.conftest import PASSWORD
from tests.inventory.conftest import SITE, TAGS, badge_in

BASE = f"/api/sites/{SITE}/inventory"
SAMPLES = Path(__file__).parent / "samples"
LICENSE = "IL-DISP-0000-EXAMPLE"


@pytest.fixture
def login(app):
    clients: list[TestClient] = []

    def make(username: str) -> TestClient:
        client = TestClient(app, base_url="https://testserver")
        client.__enter__()
        clients.append(client)
        r = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def manager(shop, client_for):
    return client_for(Role.SECURITY_MANAGER, site_id=SITE)


def test_staff_move_and_adjust_and_a_manager_reads_the_history(
    shop, manager, login, site_hub, clock
):
    alice = login("alice")
    made = alice.post(
        f"{BASE}/packages",
        json={
            "tag": TAGS[0],
            "item_id": shop.flower,
            "quantity": "50",
            "unit": "g",
            "location_id": shop.floor,
        },
    )
    assert made.status_code == 201, made.text
    pid = made.json()["id"]
    moved = alice.post(f"{BASE}/packages/{pid}/move", json={"location_id": shop.vault})
    assert moved.status_code == 200, moved.text
    assert moved.json()["flags"] == ["no_badge:vault"] and moved.json()["clip"]["camera_id"]
    adjusted = alice.post(
        f"{BASE}/packages/{pid}/adjust", json={"quantity": "-1.5", "unit": "g", "reason": "Drying"}
    )
    assert adjusted.status_code == 200 and adjusted.json()["quantity_after"] == "48.5"
    refused = alice.post(
        f"{BASE}/packages/{pid}/adjust", json={"quantity": "-100", "unit": "g", "reason": "Drying"}
    )
    assert refused.status_code == 422 and "would go negative" in refused.json()["detail"]
    detail = manager.get(f"{BASE}/packages/{pid}").json()
    assert [h["kind"] for h in detail["history"]] == ["create", "move", "adjust"]
    assert detail["location"] == "Vault" and detail["quantity"] == "48.5"
    stock = manager.get(f"{BASE}/stock").json()
    assert stock == [
        {
            "zone_id": "vault",
            "zone": stock[0]["zone"],
            "location": "Vault",
            "item": "Blue Dream 3.5 g",
            "packages": 1,
            "quantity": "48.5",
            "unit": "g",
        }
    ]
    assert (
        alice.get(f"{BASE}/stock").status_code == 403
    )  # staff handle, they do not browse the books


def test_two_person_destruction_over_http(shop, login, site_hub, clock):
    alice, bob = login("alice"), login("bob")
    pid = alice.post(
        f"{BASE}/packages",
        json={
            "tag": TAGS[0],
            "item_id": shop.flower,
            "quantity": "500",
            "unit": "g",
            "location_id": shop.backroom,
        },
    ).json()["id"]
    now = clock.now()
    badge_in(site_hub, shop.alice, now - timedelta(minutes=1), door="boh-door")
    pending = alice.post(
        f"{BASE}/packages/{pid}/destroy",
        json={"quantity": "200", "unit": "g", "method": "Grinding"},
    )
    assert pending.json()["status"] == "pending"
    mid = pending.json()["id"]
    assert alice.post(f"{BASE}/movements/{mid}/confirm").status_code == 403
    assert bob.post(f"{BASE}/movements/{mid}/confirm").status_code == 403  # not badged in
    badge_in(site_hub, shop.bob, now - timedelta(minutes=1), door="boh-door")
    done = bob.post(f"{BASE}/movements/{mid}/confirm")
    assert done.status_code == 200 and done.json()["status"] == "confirmed"


def test_metrc_import_over_http_keeps_refusals_and_exports(shop, manager, site_hub):
    body = json.loads((SAMPLES / "metrc_packages.json").read_bytes())
    body["Data"][1].pop("Quantity")
    bad = manager.post(f"{BASE}/imports/metrc/packages?license={LICENSE}", content=json.dumps(body))
    assert bad.status_code == 422
    assert (
        bad.json()["rejected"][0]["field"] == "Quantity"
        and "Nothing was imported" in bad.json()["detail"]
    )
    kept = manager.get(f"{BASE}/imports/{bad.json()['import_id']}/rejected").json()
    assert kept[0]["field"] == "Quantity" and "1A4FF0100000022000000002" in kept[0]["raw"]
    good = manager.post(
        f"{BASE}/imports/metrc/packages?license={LICENSE}",
        content=(SAMPLES / "metrc_packages.json").read_bytes(),
    )
    assert good.status_code == 200 and good.json()["accepted"] == 4
    again = manager.post(
        f"{BASE}/imports/metrc/packages?license={LICENSE}",
        content=(SAMPLES / "metrc_packages.json").read_bytes(),
    )
    assert again.json()["status"] == "duplicate"
    wrong = manager.post(f"{BASE}/imports/metrc/packages?license=CO-1", content=b"{}")
    assert wrong.status_code == 422 and "licence" in wrong.json()["detail"]
    envelope = manager.get(f"{BASE}/exports/metrc/packages").json()
    assert envelope["Total"] == 4
    csv = manager.get(f"{BASE}/exports/ccrs/Inventory")
    assert csv.status_code == 200 and csv.text.startswith("SubmittedBy,Bastion")
    assert "Inventory_BASTION_" in csv.headers["content-disposition"]
    run = manager.post(f"{BASE}/reconcile").json()
    assert run["found"] >= 0
    assert manager.get(f"{BASE}/report.csv").text.startswith("Inventory reconciliation")


def test_a_blind_count_over_http(shop, manager, login, site_hub):
    alice, bob = login("alice"), login("bob")
    alice.post(
        f"{BASE}/packages",
        json={"tag": TAGS[0], "item_id": shop.flower, "quantity": "5", "unit": "g"},
    )
    started = manager.post(f"{BASE}/counts", json={"counters": [shop.alice_user]})
    assert started.status_code == 201, started.text
    cid = started.json()["id"]
    sheet = alice.get(f"{BASE}/counts/{cid}").json()
    assert sheet["lines"][0]["tag"] == TAGS[0] and "system_qty" not in json.dumps(sheet)
    assert bob.get(f"{BASE}/counts/{cid}").status_code == 403
    assert (
        alice.post(f"{BASE}/counts/{cid}/lines", json={"tag": TAGS[0], "quantity": "4"}).status_code
        == 204
    )
    assert alice.post(f"{BASE}/counts/{cid}/complete").status_code == 403
    assert bob.post(f"{BASE}/counts/{cid}/complete").json() == {"variances": 1}
    manager.post(f"{BASE}/reconcile")
    findings = manager.get(f"{BASE}/findings").json()
    physical = [f for f in findings if f["check"] == "physical" and f["severity"] == "medium"]
    assert physical and "counted 4 g, the books say 5 g" in physical[0]["message"]
    incident = manager.post(f"{BASE}/findings/{physical[0]['id']}/incident").json()
    assert incident["alarm_id"] and incident["notice_due_at"]


def test_other_sites_staff_and_readers_cannot_act_here(shop, client_for, site_hub, clock):
    from bastion.inventory import movements
    from tests.inventory.conftest import new_package

    pid = new_package(site_hub, shop, TAGS[0], "10", now=clock.now())
    elsewhere = client_for(Role.SECURITY_MANAGER, site_id="cultivation-main")
    assert elsewhere.get(f"{BASE}/stock").status_code in (403, 404)
    assert elsewhere.get(f"{BASE}/packages/{pid}").status_code in (403, 404)
    r = elsewhere.post(
        f"{BASE}/packages/{pid}/adjust", json={"quantity": "-1", "unit": "g", "reason": "Drying"}
    )
    assert r.status_code in (403, 404)
    assert elsewhere.post(
        f"{BASE}/imports/metrc/packages?license={LICENSE}", content=b"{}"
    ).status_code in (403, 404)
    officer = client_for(Role.COMPLIANCE_OFFICER, site_id=SITE)
    assert officer.get(f"{BASE}/findings").status_code == 200
    assert (
        officer.post(
            f"{BASE}/packages/{pid}/adjust",
            json={"quantity": "-1", "unit": "g", "reason": "Drying"},
        ).status_code
        == 403
    )
    assert officer.post(f"{BASE}/reconcile").status_code == 403
    with site_hub.db.sessions() as session:
        assert session.get(InvPackage, pid).quantity == 100_000
        assert len(movements.history(session, pid)) == 1

"""The inventory console pages: stock, findings, the report bars and the blind count sheet."""

from __future__ import annotations

from fastapi.testclient import TestClient

from bastion.auth.permissions import Role
from bastion.inventory import counts
from tests.conftest import PASSWORD
from tests.inventory import conftest as inventory_fixtures
from tests.inventory.conftest import CTX, SITE, TAGS, new_package

shop = inventory_fixtures.shop


def login(app, username):
    client = TestClient(app, base_url="https://testserver")
    client.__enter__()
    r = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200
    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return client, r.json()["csrf_token"]


def test_the_inventory_page_shows_stock_by_zone_and_findings(
    app, shop, site_hub, clock, client_for
):
    new_package(site_hub, shop, TAGS[0], "12.5", location=shop.vault, now=clock.now())
    manager = client_for(Role.SECURITY_MANAGER, site_id=SITE)
    manager.post(f"/api/sites/{SITE}/inventory/reconcile")
    html = manager.get(f"/console/inventory?site={SITE}").text
    assert "Blue Dream 3.5 g" in html and "12.5 g" in html and ">Vault<" in html
    assert "Sync freshness" in html  # nothing received from the state system yet
    assert 'href="/console/inventory"' in html  # in the console navigation
    officer = client_for(Role.COMPLIANCE_OFFICER, site_id="cultivation-main")
    assert officer.get(f"/console/inventory?site={SITE}").status_code in (403, 404)


def test_the_count_sheet_is_blind_and_keeps_what_was_typed(app, shop, site_hub, clock):
    new_package(site_hub, shop, TAGS[0], "12.5", now=clock.now())
    with site_hub.unit_of_work() as session:
        counts.start(
            session=session,
            site=shop.site,
            counters=[shop.alice_user],
            context=CTX,
            now=clock.now(),
        )
    alice, token = login(app, "alice")
    html = alice.get(f"/console/inventory/count?site={SITE}").text
    assert TAGS[0] in html and "12.5" not in html
    bad = alice.post(
        "/console/inventory/count",
        data={"csrf_token": token, "site": SITE, "tag": TAGS[0], "quantity": "a lot"},
    )
    assert bad.status_code == 422 and "is not a number" in bad.text and 'value="a lot"' in bad.text
    good = alice.post(
        "/console/inventory/count",
        data={"csrf_token": token, "site": SITE, "tag": TAGS[0], "quantity": "12"},
        follow_redirects=False,
    )
    assert good.status_code == 303
    bob, _ = login(app, "bob")
    assert "no open count for you" in bob.get(f"/console/inventory/count?site={SITE}").text
    alice.__exit__(None, None, None)
    bob.__exit__(None, None, None)

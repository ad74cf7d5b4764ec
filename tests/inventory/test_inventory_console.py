"""The inventory console pages over HTTP (on SQLite and PostgreSQL alike): names, site time."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from bastion.auth.permissions import Role
from bastion.core.context import Context
from bastion.inventory import catalog, movements
from tests.conftest import PASSWORD
from tests.inventory.conftest import SITE, TAGS, new_package

ULID = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{26}\b")


@pytest.fixture
def signed_in(app):
    """Sign the shop's staff in by user name (their accounts have the suite's password)."""
    opened: list[TestClient] = []

    def sign(username: str) -> TestClient:
        client = TestClient(app, base_url="https://testserver")
        client.__enter__()
        opened.append(client)
        r = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        return client

    yield sign
    for client in opened:
        client.__exit__(None, None, None)


def test_a_flagged_vault_move_shows_who_where_and_the_camera(shop, site_hub, client_for, clock):
    pid = new_package(site_hub, shop, TAGS[0], "10", location=shop.floor, now=clock.now())
    with site_hub.unit_of_work() as session:
        movements.move(
            session=session,
            site=shop.site,
            package=session.get(movements.InvPackage, pid),
            location=catalog.get_location(session, SITE, shop.vault),
            actor=movements.Actor(
                Context(actor=f"user:{shop.alice_user}"), shop.alice_user, shop.alice
            ),
            now=clock.now(),
        )
    manager = client_for(Role.SECURITY_MANAGER, site_id=SITE)
    page = manager.get(f"/console/inventory?site={SITE}")
    assert page.status_code == 200, page.text
    flagged = page.text.split('id="inventory-flagged"')[1].split("</ul>")[0]
    assert "Alice Budtender moved" in flagged and "from Sales floor to Vault" in flagged
    assert "Nobody badged in at the Vault door beforehand" in flagged
    assert "Camera bookmark:" in flagged  # no recorder is linked in this test
    assert "(America/Chicago)" in page.text
    body = page.text.split("<main", 1)[1]
    assert "user:" not in body and not ULID.search(re.sub(r"<[^>]+>", " ", body))


def test_a_refused_count_figure_keeps_what_was_typed(shop, site_hub, client_for, signed_in, clock):
    new_package(site_hub, shop, TAGS[0], "10", now=clock.now())
    manager = client_for(Role.SECURITY_MANAGER, site_id=SITE)
    started = manager.post(
        f"/api/sites/{SITE}/inventory/counts", json={"counters": [shop.alice_user]}
    )
    assert started.status_code == 201, started.text
    alice = signed_in("alice")
    sheet = alice.get(f"/console/inventory/count?site={SITE}")
    assert TAGS[0] in sheet.text and "10 g" not in sheet.text  # blind: no book figure
    csrf = alice.headers["X-CSRF-Token"]
    bad = alice.post(
        "/console/inventory/count",
        data={"csrf_token": csrf, "site": SITE, "tag": TAGS[0], "quantity": "-3"},
    )
    assert bad.status_code == 422 and "cannot be negative" in bad.text
    assert f'value="{TAGS[0]}"' in bad.text and 'value="-3"' in bad.text
    good = alice.post(
        "/console/inventory/count",
        data={"csrf_token": csrf, "site": SITE, "tag": TAGS[0], "quantity": "9.5"},
        follow_redirects=True,
    )
    assert good.status_code == 200 and "Figure recorded." in good.text
    elsewhere = client_for(Role.SECURITY_MANAGER, site_id="cultivation-main")
    assert elsewhere.get(f"/console/inventory/count?site={SITE}").status_code == 403

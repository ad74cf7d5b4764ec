import re
import xml.etree.ElementTree as ET

import pytest

from bastion.auth.permissions import Role
from bastion.web.sitemap import render_site_svg

SITE = "dispensary-main"


@pytest.fixture
def app(site_hub):
    from bastion.api.app import create_app

    return create_app(site_hub)


def test_svg_is_well_formed_and_draws_every_zone_door_and_camera(dispensary):
    svg = render_site_svg(dispensary, {"vault-door": "forced"}, can_control=True)
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    doors = {g.get("data-door"): g for g in root.iter(f"{ns}g") if g.get("data-door")}
    assert set(doors) == {d.id for d in dispensary.doors if d.position is not None}
    assert doors["vault-door"].get("data-state") == "forced"
    assert "state-forced" in doors["vault-door"].get("class")
    assert doors["front-entry"].get("data-state") == "locked"
    assert all(g.get("tabindex") == "0" and g.get("role") == "button" for g in doors.values())
    zones = {
        g.get("data-zone") for g in root.iter(f"{ns}g") if "zone" in (g.get("class") or "").split()
    }
    assert zones == {z.id for z in dispensary.zones if z.area is not None}
    cameras = [g for g in root.iter(f"{ns}g") if g.get("class") == "camera"]
    assert len(cameras) == sum(1 for d in dispensary.devices if d.type.value == "camera" and d.fov)
    assert root.get("data-can-control") == "true" and root.get("data-can-lockdown") == "false"


def test_map_page_and_fragment_follow_door_events(client_for, site_hub):
    client = client_for(Role.OPERATOR)
    page = client.get("/console/map")
    assert page.status_code == 200
    assert 'id="site-map"' in page.text and 'data-can-control="true"' in page.text
    assert "/static/vendor/htmx-2.0.11.min.js" in page.text
    sent = client.post(f"/api/sites/{SITE}/doors/vault-door/commands", json={"command": "unlock"})
    assert sent.status_code == 200
    # The board follows the bus in the app's own loop; give its worker a few requests' time.
    for _ in range(20):
        fragment = client.get("/console/map/svg")
        if re.search(r'data-door="vault-door"[^>]*data-state="unlocked"', fragment.text):
            break
    else:
        pytest.fail("the map never showed the unlocked door")


def test_auditor_sees_the_map_without_controls(client_for):
    client = client_for(Role.AUDITOR)
    page = client.get("/console/map")
    assert page.status_code == 200
    assert 'data-can-control="false"' in page.text and 'data-can-lockdown="false"' in page.text


def test_vendored_assets_are_served_locally_and_nothing_external_is_referenced(client_for):
    client = client_for(Role.OPERATOR)
    for path in ("/console", "/console/map", "/login"):
        html = client.get(path).text
        assert not re.search(r'(src|href)="(https?:)?//', html), path
    asset = client.get("/static/vendor/htmx-2.0.11.min.js")
    assert asset.status_code == 200 and "htmx" in asset.text[:2000]
    assert client.get("/static/../../auth/service.py").status_code == 404


def test_the_map_names_the_lockdown_that_holds_a_door_and_only_managers_may_override(
    client_for, site_hub
):
    operator = client_for(Role.OPERATOR)
    manager = client_for(Role.SECURITY_MANAGER)
    sent = operator.post(f"/api/sites/{SITE}/zones/vault/lockdown", json={"reason": "alarm"})
    assert sent.status_code == 200
    for _ in range(20):
        svg = operator.get("/console/map/svg").text
        if re.search(r'data-door="cash-door"[^>]*data-state="lockdown"', svg):
            break
    else:
        pytest.fail("the map never showed the lockdown")
    assert re.search(r'data-door="cash-door"[^>]*held by the lockdown of Vault', svg)
    page = operator.get("/console/map").text
    assert 'id="door-override"' not in page and 'data-lockdown="false"' not in page
    assert 'id="door-override"' in manager.get("/console/map").text

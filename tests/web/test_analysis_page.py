import re
import xml.etree.ElementTree as ET
from typing import Any

from bastion.auth.permissions import Role
from bastion.hub import Hub

SITE = "dispensary-main"


def svgs(html: str) -> list[ET.Element]:
    return [ET.fromstring(m) for m in re.findall(r"<svg\b.*?</svg>", html, flags=re.S)]


def test_page_shows_pi_path_timeline_and_downloads(site_hub: Hub, client_for: Any) -> None:
    client = client_for(Role.SECURITY_MANAGER)
    response = client.get("/console/analysis", params={"site": SITE, "target": "vault"})
    assert response.status_code == 200, response.text
    html = response.text
    assert re.search(r'id="p-interruption">P\(I\) = 0\.\d{3}<', html)
    assert 'id="monte-carlo"' in html and "disagrees" not in html
    assert 'id="cdp"' in html
    maps = svgs(html)
    assert len(maps) == 2  # the site map with the path, and the timeline
    ns = "{http://www.w3.org/2000/svg}"
    overlay = maps[0].find(f".//{ns}g[@class='analysis-path']")
    assert overlay is not None and overlay.find(f"{ns}polyline") is not None
    steps = maps[0].findall(f".//{ns}g[@class='path-step']")
    rows = re.findall(r"<tr(?: class=\"cdp\")?>\s*<td>\d+</td>", html)
    assert len(steps) == len(rows) > 3
    assert f"/api/analysis/sites/{SITE}/report?target=vault" in html
    assert "format=pdf" in html and "format=png" in html
    assert 'hx-get="/console/analysis/whatif?site=' in html
    assert 'aria-current="page"' in html


def test_whatif_fragment_ranks_suggestions(site_hub: Hub, client_for: Any) -> None:
    client = client_for(Role.COMPLIANCE_OFFICER)
    response = client.get("/console/analysis/whatif", params={"site": SITE, "target": "vault"})
    assert response.status_code == 200, response.text
    gains = [float(g) for g in re.findall(r"<td>([+-]\d\.\d{3})</td></tr>", response.text)]
    assert gains and gains == sorted(gains, reverse=True)
    assert "response time" in response.text


def test_page_defaults_to_first_site_and_innermost_target(site_hub: Hub, client_for: Any) -> None:
    html = client_for(Role.AUDITOR).get("/console/analysis").text
    assert re.search(r'<option value="vault" selected>', html)


def test_bad_inputs_show_a_named_error(site_hub: Hub, client_for: Any) -> None:
    client = client_for(Role.SECURITY_MANAGER)
    bad = client.get("/console/analysis", params={"site": SITE, "target": "vault", "pc": 2})
    assert bad.status_code == 422
    assert "p_communication" in bad.text and 'id="analysis-error"' in bad.text
    unknown = client.get("/console/analysis", params={"site": "nowhere"})
    assert unknown.status_code == 404 and "nowhere" in unknown.text
    fragment = client.get("/console/analysis/whatif", params={"site": SITE, "target": "moon"})
    assert (
        fragment.status_code == 422 and "moon" in fragment.text and "no such zone" in fragment.text
    )


def test_page_needs_analysis_read(site_hub: Hub, client_for: Any) -> None:
    operator = client_for(Role.OPERATOR)
    assert operator.get("/console/analysis").status_code == 403
    assert (
        operator.get(
            "/console/analysis/whatif", params={"site": SITE, "target": "vault"}
        ).status_code
        == 403
    )
    assert 'href="/console/analysis"' not in operator.get("/console/alarms").text


def test_no_site_loaded_says_how_to_load_one(client_for: Any) -> None:
    html = client_for(Role.SECURITY_MANAGER).get("/console/analysis").text
    assert "bastion site import" in html

"""Sign-in sends the browser back only to a path on this server."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from bastion.web.pages import same_origin_path

HOSTILE = [
    "//evil.example/x",
    "/\\evil.example/x",
    "/%5Cevil.example/x",
    "/%5cevil.example/x",
    "/\t/evil.example/x",
    "/%09/evil.example/x",
    "/%0a/evil.example",
    "/%2F/evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "evil.example",
    "",
]


@pytest.mark.parametrize("target", HOSTILE)
def test_hostile_targets_fall_back_to_the_console(target):
    assert same_origin_path(target) == "/console"


@pytest.mark.parametrize("target", ["/console/alarms", "/console/map?site=a%20b", "/console"])
def test_paths_on_this_server_are_kept(target):
    assert same_origin_path(target) == target


@pytest.mark.parametrize("raw", ["/%5Cevil.example/x", "/%09/evil.example/x", "//evil.example"])
def test_login_page_never_carries_another_origin(app, raw):
    with TestClient(app, base_url="https://testserver") as client:
        page = client.get(f"/login?next={raw}")
    assert page.status_code == 200
    assert 'data-next="/console"' in page.text


def test_signed_out_page_visit_comes_back_to_the_same_path(app):
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        response = client.get("/console/alarms?x=1")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/console/alarms"

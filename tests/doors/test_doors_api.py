import json

import pytest

from bastion.auth.permissions import Role
from bastion.site.graph import SiteGraph

SITE = "dispensary-main"


@pytest.fixture
def app(site_hub):
    from bastion.api.app import create_app

    return create_app(site_hub)


def test_operator_commands_a_door_and_the_ledger_names_them(client_for, site_hub):
    client = client_for(Role.OPERATOR)
    response = client.post(
        f"/api/sites/{SITE}/doors/vault-door/commands",
        json={"command": "lock", "reason": "end of day"},
    )
    assert response.status_code == 200, response.text
    rows = site_hub.ledger.query(types=["door.command"])
    assert len(rows) == 1
    assert rows[0].device == "vault-door" and rows[0].actor.startswith("user:")
    assert json.loads(rows[0].payload)["reason"] == "end of day"
    assert rows[0].context_id == response.json()["context_id"]


def test_lockdown_covers_the_zone_and_its_neighbours(client_for, site_hub, dispensary):
    client = client_for(Role.OPERATOR)
    response = client.post(
        f"/api/sites/{SITE}/zones/cash-room/lockdown", json={"reason": "robbery"}
    )
    assert response.status_code == 200, response.text
    payload = json.loads(site_hub.ledger.query(types=["site.lockdown"])[0].payload)
    # The event names the one lockdown started (its root); the lockdown holds the doors
    # of the zone and of its neighbours.
    assert payload["zone_ids"] == ["cash-room"] and payload["active"] is True
    graph = SiteGraph(dispensary)
    expected = {
        d.id
        for z in ["cash-room", *(z.id for z in graph.adjacent_zones("cash-room"))]
        for d in graph.doors_of(z)
    }
    assert set(response.json()["doors"]) == expected
    assert response.json()["zone_name"] == "Cash room"


def test_auditor_cannot_command_or_lock_down(client_for, site_hub):
    client = client_for(Role.AUDITOR)
    assert client.get(f"/api/sites/{SITE}/doors").status_code == 200
    r1 = client.post(f"/api/sites/{SITE}/doors/vault-door/commands", json={"command": "unlock"})
    r2 = client.post(f"/api/sites/{SITE}/zones/vault/lockdown", json={})
    assert r1.status_code == 403 and r2.status_code == 403
    assert site_hub.ledger.query(types=["door.command", "site.lockdown"]) == []


@pytest.mark.parametrize(
    ("path", "body", "status", "needle"),
    [
        (
            "/api/sites/dispensary-main/doors/no-such-door/commands",
            {"command": "lock"},
            404,
            "no-such-door",
        ),
        ("/api/sites/elsewhere/doors/vault-door/commands", {"command": "lock"}, 404, "elsewhere"),
        (
            "/api/sites/dispensary-main/doors/vault-door/commands",
            {"command": "explode"},
            422,
            "command",
        ),
        (
            "/api/sites/dispensary-main/doors/vault-door/commands",
            {"command": "lock", "x": 1},
            422,
            "x",
        ),
        ("/api/sites/dispensary-main/zones/outside/lockdown", {}, 404, "outside"),
    ],
)
def test_bad_requests_get_problem_json_and_change_nothing(
    client_for, site_hub, path, body, status, needle
):
    client = client_for(Role.SECURITY_MANAGER)
    response = client.post(path, json=body)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert needle in response.text
    assert site_hub.ledger.query(types=["door.command", "site.lockdown"]) == []

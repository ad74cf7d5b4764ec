"""The rules API: a rule naming a door, zone, camera or call tree that does not exist is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.auth.permissions import Role
from bastion.core.bus import Bus
from bastion.core.clock import FrozenClock
from bastion.hub import Hub
from bastion.settings import Settings
from bastion.store.db import Database
from bastion.store.ledger import Ledger
from tests.conftest import add_call_tree


@pytest.fixture
def hub(tmp_path: Path, database: Database, ledger: Ledger, clock: FrozenClock) -> Hub:
    """Return the plain hub of the API suites (this suite's async hub does not suit the app)."""
    return Hub(
        settings=Settings(data_dir=tmp_path),
        db=database,
        ledger=ledger,
        bus=Bus(sink=ledger, clock=clock),
        clock=clock,
    )


def test_the_rules_api_refuses_a_rule_naming_what_does_not_exist(client_for, site_hub, clock):
    manager = client_for(Role.SECURITY_MANAGER)
    rule = {
        "id": "night-gate",
        "triggers": [{"kind": "event", "event_type": "door.forced"}],
        "actions": [
            {"action": "lock_door", "doors": ["lot-gate"]},
            {"action": "call_tree", "call_tree": "night-team", "message": "Forced {door_name}"},
        ],
    }
    refused = manager.post("/api/rules", json=rule)
    assert refused.status_code == 422, refused.text
    assert "actions.1.call_tree: call tree 'night-team' does not exist" in refused.json()["detail"]
    assert manager.get("/api/rules").json() == []

    url = "mailto://127.0.0.1:9?from=bastion@example.org&to=night@example.org&mode=insecure"
    add_call_tree(site_hub, "night-team", ("Night lead", url), now=clock.now())
    created = manager.post("/api/rules", json=rule)
    assert created.status_code == 201, created.text
    wrong_door = {**rule, "actions": [{"action": "lock_door", "doors": ["lot-gaet"]}]}
    refused = manager.put("/api/rules/night-gate", json=wrong_door)
    assert refused.status_code == 422
    assert "has no door 'lot-gaet' (did you mean 'lot-gate'?)" in refused.json()["detail"]

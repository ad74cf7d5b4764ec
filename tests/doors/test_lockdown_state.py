"""One lockdown registry: the engine, the door board and the map never disagree.

Lifting names the lockdown it lifts, a neighbour's door cannot quietly lift part of a
lockdown, and a plain unlock never beats a lockdown; only a reasoned override does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from bastion.access.engine import AccessEngine
from bastion.access.snapshot import Policy
from bastion.auth.permissions import Role
from bastion.core.context import Context
from bastion.core.events import (
    EVENT_DOOR_COMMAND,
    EVENT_LOCKDOWN,
    DoorCommandPayload,
    LockdownPayload,
    make_event,
)
from bastion.doors.board import DoorBoard
from bastion.site import service as site_service
from bastion.site.lockdown import LockdownRegistry

SITE = "dispensary-main"


def ev(event_type, payload):
    return make_event(event_type, payload, context=Context(actor="user:test"), site=SITE)


def wait_for(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Wait on a condition (events reach subscribers asynchronously)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def agree(board: DoorBoard, engine: AccessEngine, dispensary) -> None:
    shown = {d for d, s in board.states(SITE).items() if s in {"lockdown", "override"}}
    denied = {d.id for d in dispensary.doors if engine.door_locked_down(f"{SITE}/{d.id}")}
    assert shown == denied


def test_board_and_engine_share_one_registry_whatever_the_events(dispensary):
    registry = LockdownRegistry()
    engine = AccessEngine(lockdowns=registry)
    engine.load([dispensary], Policy())
    board = DoorBoard([dispensary], registry)
    # The sequence a console used to send: the vault and its neighbours, then a lift
    # from the cash room's door naming the cash room and its neighbours.
    board.apply(
        ev(EVENT_LOCKDOWN, LockdownPayload(zone_ids=("vault", "back-of-house"), active=True))
    )
    agree(board, engine, dispensary)
    board.apply(
        ev(EVENT_LOCKDOWN, LockdownPayload(zone_ids=("cash-room", "back-of-house"), active=False))
    )
    agree(board, engine, dispensary)
    assert board.states(SITE)["vault-door"] == "lockdown"
    assert engine.door_locked_down(f"{SITE}/vault-door")
    assert [i.zone_name for i in registry.covering(SITE, "cash-door")] == ["Vault"]


async def test_a_door_in_lockdown_mode_by_policy_shows_as_locked_down_and_refuses_unlock(
    dispensary,
):
    from bastion.access.snapshot import DoorMode, DoorPolicySpec
    from bastion.core.bus import Bus
    from bastion.core.errors import Conflict
    from bastion.doors import service

    registry = LockdownRegistry()
    engine = AccessEngine(lockdowns=registry)
    engine.load([dispensary], Policy())
    board = DoorBoard([dispensary], registry)
    engine.put_door_policy(DoorPolicySpec(SITE, "vault-door", mode=DoorMode.LOCKDOWN))
    assert board.states(SITE)["vault-door"] == "lockdown"
    agree(board, engine, dispensary)
    with pytest.raises(Conflict, match="lockdown mode"):
        await service.command_door(
            bus=Bus(),
            site=dispensary,
            door_id="vault-door",
            command="unlock",
            reason="",
            context=Context(actor="user:1"),
            lockdowns=registry,
        )
    engine.put_door_policy(DoorPolicySpec(SITE, "vault-door", mode=DoorMode.CARD_ONLY))
    assert board.states(SITE)["vault-door"] == "locked"
    agree(board, engine, dispensary)


def test_an_unlock_during_a_lockdown_shows_as_override_and_ends_with_it(dispensary):
    board = DoorBoard([dispensary])
    board.apply(ev(EVENT_LOCKDOWN, LockdownPayload(zone_ids=("vault",), active=True)))
    board.apply(
        ev(
            EVENT_DOOR_COMMAND,
            DoorCommandPayload(door_id="vault-door", command="unlock", reason="fire egress"),
        )
    )
    assert board.states(SITE)["vault-door"] == "override"
    assert board.overrides(SITE)["vault-door"].reason == "fire egress"
    board.apply(ev(EVENT_LOCKDOWN, LockdownPayload(zone_ids=("vault",), active=False)))
    assert board.states(SITE)["vault-door"] == "locked"


@pytest.fixture
def live(site_hub, dispensary):
    """The dispensary stored, so the app's access engine compiles it at start-up."""
    with site_hub.unit_of_work() as session:
        site_service.import_site(
            session=session,
            site=dispensary,
            context=Context(actor="test"),
            now=site_hub.clock.now(),
        )
    return site_hub


@pytest.fixture
def app(live):
    from bastion.api.app import create_app

    return create_app(live)


def engine_of(hub) -> AccessEngine:
    engine = hub.extras["access_engine"]
    assert isinstance(engine, AccessEngine)
    return engine


def test_lifting_from_a_neighbours_door_names_the_lockdown_and_never_shows_normal(
    client_for, live, dispensary
):
    client = client_for(Role.OPERATOR)
    started = client.post(f"/api/sites/{SITE}/zones/vault/lockdown", json={"reason": "robbery"})
    assert started.status_code == 200, started.text
    assert started.json()["zone_name"] == "Vault"
    assert {"vault-door", "cash-door"} <= set(started.json()["doors"])
    engine = engine_of(live)
    board = live.extras["door_board"]
    wait_for(lambda: engine.lockdown_zones(SITE) == {"vault"}, "the engine to hold the lockdown")

    # The cash-room door's "Lift lockdown": refused, naming the lockdown that holds it.
    lifted = client.post(f"/api/sites/{SITE}/zones/cash-room/lockdown", json={"active": False})
    assert lifted.status_code == 409, lifted.text
    assert "lockdown of Vault" in lifted.json()["detail"]
    agree(board, engine, dispensary)
    assert board.states(SITE)["cash-door"] == "lockdown"
    assert engine.door_locked_down(f"{SITE}/cash-door")
    listed = client.get(f"/api/sites/{SITE}/lockdowns").json()
    assert [(i["zone_id"], i["reason"]) for i in listed] == [("vault", "robbery")]

    # Lifting the named lockdown clears the board, the engine and the stored state.
    done = client.post(f"/api/sites/{SITE}/zones/vault/lockdown", json={"active": False})
    assert done.status_code == 200, done.text
    assert done.json()["message"].startswith("Lifted the lockdown of Vault")
    assert done.json()["still_locked_down"] == []
    agree(board, engine, dispensary)
    assert "lockdown" not in board.states(SITE).values()
    assert client.get(f"/api/sites/{SITE}/lockdowns").json() == []


def test_a_rule_lockdown_is_stored_so_a_restart_agrees(client_for, live, dispensary):
    from bastion.access import service as access_service

    client = client_for(Role.OPERATOR)
    assert client.post(f"/api/sites/{SITE}/zones/vault/lockdown", json={}).status_code == 200

    def stored() -> list[str]:
        with live.db.sessions() as session:
            policy = access_service.load_policy(session=session)
        return [z for s in policy.site_states if s.site_id == SITE for z in s.lockdown_zones]

    wait_for(lambda: stored() == ["vault"], "the lockdown to be stored")


def test_unlock_during_lockdown_is_refused_unless_overridden_with_a_reason(
    client_for, live, dispensary
):
    operator = client_for(Role.OPERATOR)
    manager = client_for(Role.SECURITY_MANAGER)
    board = live.extras["door_board"]
    assert operator.post(f"/api/sites/{SITE}/zones/vault/lockdown", json={}).status_code == 200
    url = f"/api/sites/{SITE}/doors/vault-door/commands"

    plain = operator.post(url, json={"command": "unlock", "reason": "let me in"})
    assert plain.status_code == 409 and "lockdown of Vault" in plain.json()["detail"]
    rule_route = operator.post(f"/api/sites/{SITE}/doors/vault-door/unlock", json={})
    assert rule_route.status_code == 409
    assert live.ledger.query(types=["door.command"]) == []

    denied = operator.post(
        url, json={"command": "unlock", "reason": "fire", "override_lockdown": True}
    )
    assert denied.status_code == 403
    no_reason = manager.post(url, json={"command": "unlock", "override_lockdown": True})
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["detail"]

    ok = manager.post(
        url, json={"command": "unlock", "reason": "paramedics", "override_lockdown": True}
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["overridden"] == ["Vault"]
    rows = live.ledger.query(types=["door.lockdown_override"])
    assert len(rows) == 1 and json.loads(rows[0].payload)["reason"] == "paramedics"
    assert rows[0].actor.startswith("user:")
    wait_for(lambda: board.states(SITE)["vault-door"] == "override", "the override to show")

    # Lifting the lockdown locks the overridden door again, on the record.
    lifted = operator.post(f"/api/sites/{SITE}/zones/vault/lockdown", json={"active": False})
    assert lifted.json()["relocked"] == ["vault-door"]
    wait_for(lambda: board.states(SITE)["vault-door"] == "locked", "the door to lock again")
    locks = [json.loads(r.payload) for r in live.ledger.query(types=["door.command"])]
    assert [(p["door_id"], p["command"]) for p in locks] == [("vault-door", "lock")]
    assert "lockdown of Vault lifted" in locks[0]["reason"]


def test_an_operator_of_another_site_sees_and_overrides_nothing(client_for, live):
    stranger = client_for(Role.SECURITY_MANAGER, site_id="elsewhere")
    assert stranger.get(f"/api/sites/{SITE}/lockdowns").status_code == 403
    r = stranger.post(
        f"/api/sites/{SITE}/doors/vault-door/commands",
        json={"command": "unlock", "reason": "x", "override_lockdown": True},
    )
    assert r.status_code == 403

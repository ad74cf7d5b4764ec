from bastion.core.context import Context
from bastion.core.events import (
    EVENT_DEVICE_HEALTH,
    EVENT_DOOR_COMMAND,
    EVENT_DOOR_FORCED,
    EVENT_DOOR_HELD,
    EVENT_DOOR_STATE,
    EVENT_LOCKDOWN,
    DeviceHealthPayload,
    DoorCommandPayload,
    DoorPayload,
    LockdownPayload,
    make_event,
)
from bastion.doors.board import DoorBoard
from bastion.site.graph import SiteGraph

SITE = "dispensary-main"


def ev(event_type, payload, site=SITE):
    return make_event(event_type, payload, context=Context(), site=site)


def test_all_doors_start_locked(dispensary):
    board = DoorBoard([dispensary])
    states = board.states(SITE)
    assert set(states) == {d.id for d in dispensary.doors}
    assert set(states.values()) == {"locked"}


def test_door_lifecycle_alarms_win_until_closed(dispensary):
    board = DoorBoard([dispensary])
    start = board.version
    board.apply(ev(EVENT_DOOR_STATE, DoorPayload(door_id="vault-door", state="open")))
    assert board.states(SITE)["vault-door"] == "open"
    board.apply(ev(EVENT_DOOR_HELD, DoorPayload(door_id="vault-door", state="held")))
    assert board.states(SITE)["vault-door"] == "held"
    board.apply(ev(EVENT_DOOR_STATE, DoorPayload(door_id="vault-door", state="closed")))
    assert board.states(SITE)["vault-door"] == "locked"
    board.apply(ev(EVENT_DOOR_FORCED, DoorPayload(door_id="dock-door", state="forced")))
    assert board.states(SITE)["dock-door"] == "forced"
    assert board.version == start + 4


def test_commands_lockdown_and_health(dispensary):
    board = DoorBoard([dispensary])
    board.apply(ev(EVENT_DOOR_COMMAND, DoorCommandPayload(door_id="front-entry", command="unlock")))
    assert board.states(SITE)["front-entry"] == "unlocked"
    graph = SiteGraph(dispensary)
    zones = ("vault", *(z.id for z in graph.adjacent_zones("vault")))
    board.apply(ev(EVENT_LOCKDOWN, LockdownPayload(zone_ids=zones, active=True)))
    locked = {d for d, s in board.states(SITE).items() if s == "lockdown"}
    # Each zone named is a lockdown root holding its doors and its neighbours' (as in the engine).
    assert locked == {d.id for z in zones for d in graph.lockdown_doors(z)}
    board.apply(ev(EVENT_LOCKDOWN, LockdownPayload(zone_ids=zones, active=False)))
    assert "lockdown" not in board.states(SITE).values()
    reader = next(
        d for d in dispensary.devices if d.type.value == "reader" and d.door == "vault-door"
    )
    board.apply(ev(EVENT_DEVICE_HEALTH, DeviceHealthPayload(device_id=reader.id, status="offline")))
    assert board.states(SITE)["vault-door"] == "offline"
    board.apply(ev(EVENT_DEVICE_HEALTH, DeviceHealthPayload(device_id=reader.id, status="online")))
    assert board.states(SITE)["vault-door"] == "locked"


def test_unknown_site_door_or_device_changes_nothing(dispensary):
    board = DoorBoard([dispensary])
    version = board.version
    board.apply(ev(EVENT_DOOR_STATE, DoorPayload(door_id="vault-door", state="open"), site="other"))
    board.apply(ev(EVENT_DOOR_STATE, DoorPayload(door_id="nope", state="open")))
    board.apply(ev(EVENT_DEVICE_HEALTH, DeviceHealthPayload(device_id="nope", status="offline")))
    board.apply(ev(EVENT_DOOR_COMMAND, DoorCommandPayload(door_id="nope", command="lock")))
    assert board.version == version
    assert set(board.states(SITE).values()) == {"locked"}
    assert board.status(SITE, "nope") is None

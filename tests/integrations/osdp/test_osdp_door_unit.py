"""The door supervisor state machine, driven with plain numbers for time."""

from __future__ import annotations

from bastion.integrations.osdp.door import DoorSupervisor, Outcome


def kinds(outcomes) -> list[Outcome]:
    return [o.kind for o in outcomes]


def test_grant_then_open_close_then_relock() -> None:
    door = DoorSupervisor("d", held_open_s=30)
    assert kinds(door.grant(0.0, 5.0)) == [Outcome.UNLOCKED]
    assert kinds(door.contact(1.0, True)) == [Outcome.OPENED]
    assert kinds(door.contact(4.0, False)) == [Outcome.CLOSED, Outcome.LOCKED]
    assert kinds(door.tick(10.0)) == []


def test_unused_grant_relocks_after_the_strike_time() -> None:
    door = DoorSupervisor("d", held_open_s=30)
    door.grant(0.0, 5.0)
    assert kinds(door.tick(4.0)) == []
    assert kinds(door.tick(5.1)) == [Outcome.LOCKED]
    assert kinds(door.contact(8.0, True)) == [Outcome.FORCED]


def test_rex_window_and_held_open_with_prealarm() -> None:
    door = DoorSupervisor("d", held_open_s=10, prealarm_s=3, rex_window_s=5)
    assert kinds(door.rex(0.0, True)) == [Outcome.REX]
    assert kinds(door.rex(0.2, False)) == []
    assert kinds(door.contact(2.0, True)) == [Outcome.OPENED]
    assert kinds(door.tick(9.1)) == [Outcome.PREALARM]
    assert kinds(door.tick(12.0)) == [Outcome.HELD]
    assert kinds(door.tick(20.0)) == []
    closed = door.contact(21.0, False)
    assert closed[0].kind is Outcome.CLOSED and closed[0].duration_s == 19.0


def test_forced_door_is_not_reported_held() -> None:
    door = DoorSupervisor("d", held_open_s=1)
    assert kinds(door.contact(0.0, True)) == [Outcome.FORCED]
    assert kinds(door.tick(5.0)) == []

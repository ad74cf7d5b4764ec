"""The device-health tracker: grace periods, flapping and recovery, on a frozen clock."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bastion.core.clock import FrozenClock
from bastion.maintenance.health import Condition, HealthTracker, KindSettings

READER = KindSettings(offline_grace_s=10, startup_grace_s=30, flap_count=3, flap_window_s=60)


@pytest.fixture
def tracker(clock: FrozenClock) -> HealthTracker:
    return HealthTracker(clock=clock, settings={"reader": READER})


def _see(tracker: HealthTracker, online: bool, device: str = "rdr-1", site: str = "s"):
    return tracker.observe(site=site, device_id=device, kind="reader", online=online)


def _conditions(changes) -> list[tuple[str, Condition | None]]:
    return [(c.device_id, c.condition) for c in changes]


def test_a_link_down_past_its_grace_is_one_offline_trouble_cleared_when_back(tracker, clock):
    _see(tracker, True)
    _see(tracker, False)
    clock.advance(9.9)
    assert tracker.tick() == []
    clock.advance(0.1)
    (change,) = tracker.tick()
    assert (change.condition, change.kind, change.site) == (Condition.OFFLINE, "reader", "s")
    assert "no answer for 10" in change.detail
    clock.advance(60)
    assert tracker.tick() == []  # one trouble, however long it lasts
    _see(tracker, True)
    clock.advance(4.9)
    assert tracker.tick() == []  # up, but not yet for the restore period
    clock.advance(0.1)
    assert _conditions(tracker.tick()) == [("rdr-1", None)]
    assert tracker.condition("s", "rdr-1") is None


def test_a_blip_shorter_than_the_grace_is_not_trouble(tracker, clock):
    _see(tracker, True)
    for _ in range(2):
        _see(tracker, False)
        clock.advance(3)
        _see(tracker, True)
        clock.advance(30)
        assert tracker.tick() == []


def test_a_device_that_never_came_up_gets_the_start_up_grace(tracker, clock):
    _see(tracker, False)
    clock.advance(29)
    assert tracker.tick() == []
    clock.advance(1)
    (change,) = tracker.tick()
    assert change.condition is Condition.OFFLINE and "never came up" in change.detail


def test_flapping_is_one_trouble_that_clears_only_once_it_stops(tracker, clock):
    _see(tracker, True)
    changes = []
    for _ in range(5):
        changes += _see(tracker, False)
        clock.advance(1)
        changes += _see(tracker, True)
        clock.advance(5)
        changes += tracker.tick()
    assert _conditions(changes) == [("rdr-1", Condition.FLAPPING)]
    assert "dropped 3 times in 60 s" in changes[0].detail
    clock.advance(30)  # up and steady, but the drops are still inside the window
    assert tracker.tick() == []
    clock.advance(30)
    assert _conditions(tracker.tick()) == [("rdr-1", None)]


def test_devices_and_sites_are_judged_apart_with_the_settings_of_their_kind(clock):
    tracker = HealthTracker(
        clock=clock, settings={"camera": KindSettings(offline_grace_s=30, startup_grace_s=30)}
    )
    for site, device, kind in (("a", "x", "reader"), ("b", "x", "reader"), ("a", "cam", "camera")):
        tracker.observe(site=site, device_id=device, kind=kind, online=True)
        tracker.observe(site=site, device_id=device, kind=kind, online=False)
    clock.advance(10)  # the default reader grace
    assert sorted((c.site, c.device_id) for c in tracker.tick()) == [("a", "x"), ("b", "x")]
    clock.advance(20)
    assert [(c.site, c.device_id) for c in tracker.tick()] == [("a", "cam")]


def test_repeated_reports_of_the_same_state_change_nothing(tracker, clock):
    _see(tracker, True)
    _see(tracker, False)
    clock.advance(8)
    _see(tracker, False)  # still down: the grace is counted from the first report
    clock.advance(2)
    assert _conditions(tracker.tick()) == [("rdr-1", Condition.OFFLINE)]


def test_settings_are_checked():
    with pytest.raises(ValidationError):
        KindSettings(offline_grace_s=60, startup_grace_s=10)
    with pytest.raises(ValidationError):
        KindSettings(flap_count=1)


def test_a_degraded_camera_is_one_trouble_past_its_grace_that_clears_when_well(clock):
    tracker = HealthTracker(clock=clock)
    see = dict(site="s", device_id="cam-1", kind="camera")
    tracker.observe(**see, online=True)
    tracker.observe(**see, online=True, degraded=True, detail="camera delivers 0 fps")
    clock.advance(29)
    assert tracker.tick() == []
    clock.advance(1)
    (change,) = tracker.tick()
    assert change.condition is Condition.DEGRADED and "0 fps for 30 s" in change.detail
    tracker.observe(**see, online=True, degraded=True, detail="camera delivers 0 fps")
    clock.advance(60)
    assert tracker.tick() == []
    tracker.observe(**see, online=True)
    clock.advance(29)
    assert tracker.tick() == []
    clock.advance(1)
    assert _conditions(tracker.tick()) == [("cam-1", None)]


def test_a_degraded_camera_that_goes_offline_escalates(clock):
    tracker = HealthTracker(clock=clock)
    see = dict(site="s", device_id="cam-1", kind="camera")
    tracker.observe(**see, online=True, degraded=True, detail="skipping")
    clock.advance(30)
    assert _conditions(tracker.tick()) == [("cam-1", Condition.DEGRADED)]
    tracker.observe(**see, online=False)
    clock.advance(30)
    assert _conditions(tracker.tick()) == [("cam-1", Condition.OFFLINE)]

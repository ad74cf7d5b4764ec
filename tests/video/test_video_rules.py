"""Zone rules on hand-made tracks: timers by the clock, grace, hysteresis, schedules."""

from __future__ import annotations

from datetime import datetime, time

from bastion.video.detector import Detection
from bastion.video.rules import RuleEngine, RuleSpec, in_window
from bastion.video.tracker import Track, Tracker

SQUARE = ((0.25, 0.25), (0.75, 0.25), (0.75, 0.75), (0.25, 0.75))


def track(tid: int, x: float, y: float, label: str = "person") -> Track:
    t = Track(tid, (x - 5, y - 40, x + 5, y), 0.9, 0.0, 0.0)
    t.labels[label] += 1
    return t


def test_loitering_fires_once_after_the_time_and_survives_a_short_gap():
    engine = RuleEngine([RuleSpec("z", "loitering", SQUARE, seconds=5, grace_s=2)], 100, 100)
    fired = []
    for step in range(0, 80):
        now = step * 0.1
        inside = not (3.0 <= now < 4.0)  # steps out for one second: within the grace
        fired += engine.update([track(1, 50 if inside else 90, 50)], now)
    assert len(fired) == 1 and abs(fired[0].at - 5.0) < 0.2


def test_loitering_restarts_after_a_long_absence():
    engine = RuleEngine([RuleSpec("z", "loitering", SQUARE, seconds=5, grace_s=1)], 100, 100)
    fired = []
    for step in range(0, 100):
        now = step * 0.1
        inside = not (3.0 <= now < 6.0)
        fired += engine.update([track(1, 50 if inside else 90, 50)], now)
    assert fired == []  # 3 s inside, 3 s away (over the grace), then 4 s: never 5 s at once


def test_a_vehicle_must_be_still_to_count_as_parked():
    engine = RuleEngine([RuleSpec("bay", "parked", SQUARE, seconds=3)], 100, 100)
    moving = [engine.update([track(1, 30 + i, 50, "car")], i * 0.5) for i in range(0, 30, 3)]
    assert not any(moving)
    still = [h for i in range(10) for h in engine.update([track(1, 60, 50, "car")], 20 + i)]
    assert len(still) == 1 and still[0].label == "car"


def test_a_person_is_not_a_parked_vehicle():
    engine = RuleEngine([RuleSpec("bay", "parked", SQUARE, seconds=1)], 100, 100)
    assert not any(engine.update([track(1, 50, 50)], float(i)) for i in range(5))


def test_standing_on_the_line_is_not_a_crossing():
    line = ((0.5, 0.0), (0.5, 1.0))
    engine = RuleEngine([RuleSpec("l", "line", line)], 100, 100)
    positions = [40, 49, 51, 49, 51, 50, 49, 51, 60, 61, 40]
    hits = [h for i, x in enumerate(positions) for h in engine.update([track(1, x, 50)], i)]
    assert [h.direction for h in hits] == ["out", "in"]
    assert engine.crossings["l"]["in"] + engine.crossings["l"]["out"] == 2


def test_after_hours_presence_uses_the_site_clock_and_wraps_midnight():
    spec = RuleSpec("p", "after_hours", SQUARE, starts=time(22), ends=time(6))
    engine = RuleEngine([spec], 100, 100)
    day = engine.update([track(1, 50, 50)], 0.0, datetime(2026, 1, 5, 21, 59))
    night = engine.update([track(1, 50, 50)], 1.0, datetime(2026, 1, 5, 22, 0))
    again = engine.update([track(1, 50, 50)], 2.0, datetime(2026, 1, 5, 23, 0))
    assert day == [] and len(night) == 1 and again == []
    assert in_window(datetime(2026, 1, 6, 5, 59), time(22), time(6))
    assert not in_window(datetime(2026, 1, 6, 6, 0), time(22), time(6))


def test_the_tracker_keeps_an_id_through_a_weak_detection_and_ends_old_tracks():
    tracker = Tracker(min_hits=2, max_age_s=1.0)
    box = (10.0, 10.0, 30.0, 60.0)
    for i in range(3):
        tracker.update([Detection("person", 0.9, box)], i * 0.2)
    tid = tracker.confirmed()[0].id
    moved = (12.0, 10.0, 32.0, 60.0)
    assert tracker.update([Detection("person", 0.35, moved)], 0.8)[0].id == tid
    assert tracker.update([], 3.0) == []

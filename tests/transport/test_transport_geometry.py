import math
from datetime import UTC, datetime, timedelta

import pytest

from bastion.core.errors import InvalidInput
from bastion.transport import gps
from bastion.transport.geometry import Corridor, metres_between, route_points
from bastion.transport.watch import TripWatch, WatchSettings
from tests.transport.route_data import DESTINATION, ROUTE, drive

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def test_corridor_measures_metres_not_degrees():
    corridor = Corridor([tuple(p) for p in ROUTE], 60)
    assert 3000 < corridor.length_m < 4500
    # 0.001 degree of latitude is about 111 m
    lon, lat = ROUTE[0]
    assert corridor.offset_m(lon + 0.0, lat + 0.0) < 1
    off = corridor.offset_m(lon - 0.0013, lat + 0.004)  # about 111 m west of the first leg
    assert 100 < off < 120
    assert abs(metres_between((lon, lat), (lon, lat + 0.001)) - 111.0) < 1.5


def test_route_needs_two_points():
    with pytest.raises(InvalidInput, match="at least two"):
        route_points([[-89.65, 39.78]])
    with pytest.raises(InvalidInput, match="at least two"):
        route_points([[-89.65, 39.78], [-89.65, 39.78]])
    with pytest.raises(InvalidInput, match="out of range"):
        route_points([[-89.65, 95], [-89.6, 39.7]])


def test_vectorised_offsets_match_single():
    corridor = Corridor([tuple(p) for p in ROUTE], 60)
    fixes = drive(T0)
    _, _, offsets = corridor.offsets([f[2] for f in fixes], [f[1] for f in fixes])
    for (_, lat, lon), off in zip(fixes, offsets, strict=True):
        assert math.isclose(corridor.offset_m(lon, lat), off, abs_tol=1e-6)
        assert off < 1


def test_owntracks_parse_and_rejects():
    ok = gps.parse_owntracks(
        "owntracks/van1/phone",
        b'{"_type":"location","lat":39.78,"lon":-89.65,"tst":1772463600,"acc":8,"vel":40,"batt":80}',
    )
    assert isinstance(ok, gps.Fix) and ok.device == "van1/phone" and ok.speed_kmh == 40
    assert gps.parse_owntracks("owntracks/van1/phone", b"{nope").reason == "malformed"
    assert gps.parse_owntracks("owntracks/van1/phone", b"[1]").reason == "malformed"
    assert gps.parse_owntracks("other/x", b"{}").reason == "bad_topic"
    assert (
        gps.parse_owntracks("owntracks/a/b", b'{"_type":"location","lat":1,"lon":2}').reason
        == "missing_timestamp"
    )
    assert (
        gps.parse_owntracks(
            "owntracks/a/b", b'{"_type":"location","lat":"x","lon":2,"tst":5}'
        ).reason
        == "missing_position"
    )
    assert gps.parse_owntracks("owntracks/a/b", b'{"_type":"card"}').reason == "ignored_type"
    panic = gps.parse_owntracks(
        "owntracks/a/b", b'{"_type":"transition","event":"enter","desc":"PANIC","tst":1772463600}'
    )
    assert isinstance(panic, gps.Signal) and panic.kind == "panic"


def test_osmand_parse_and_rejects():
    fix = gps.parse_osmand(
        {"id": "T-1", "lat": "39.78", "lon": "-89.65", "timestamp": "1772463600000", "speed": "10"}
    )
    assert isinstance(fix, gps.Fix)
    assert fix.at == datetime.fromtimestamp(1772463600, UTC)
    assert math.isclose(fix.speed_kmh, 18.52)
    iso = gps.parse_osmand(
        {"id": "T-1", "location": "39.78,-89.65", "timestamp": "2026-03-02T15:00:00Z"}
    )
    assert isinstance(iso, gps.Fix) and iso.lat == 39.78
    assert gps.parse_osmand({"lat": "1", "lon": "1", "timestamp": "5"}).reason == "missing_device"
    assert (
        gps.parse_osmand({"id": "a", "lat": "91", "lon": "1", "timestamp": "5"}).reason
        == "bad_position"
    )
    assert (
        gps.parse_osmand({"id": "a", "lat": "1", "lon": "1", "timestamp": "soon"}).reason
        == "missing_timestamp"
    )
    assert (
        gps.parse_osmand({"id": "a", "lat": "nan", "lon": "1", "timestamp": "5"}).reason
        == "missing_position"
    )
    sos = gps.parse_osmand({"id": "a", "lat": "1", "lon": "1", "timestamp": "5", "alarm": "sos"})
    assert isinstance(sos, gps.Signal)


def _fix(at, lat, lon, acc=5.0):
    return gps.Fix("d", at, lat, lon, accuracy_m=acc)


def test_filter_rejects_bad_fixes():
    f = gps.FixFilter()
    now = T0 + timedelta(minutes=5)
    assert isinstance(f.check(_fix(T0, 39.78, -89.65), now), gps.Fix)
    assert f.check(_fix(T0, 39.78, -89.65), now).reason == "duplicate"
    assert f.check(_fix(T0 - timedelta(seconds=5), 39.78, -89.65), now).reason == "out_of_order"
    assert f.check(_fix(T0 + timedelta(hours=1), 39.78, -89.65), now).reason == "future_timestamp"
    jump = f.check(_fix(T0 + timedelta(seconds=10), 40.78, -89.65), now)
    assert jump.reason == "impossible_jump"
    assert isinstance(f.check(_fix(T0 + timedelta(seconds=20), 39.7801, -89.65), now), gps.Fix)
    low = f.check(_fix(T0 + timedelta(seconds=30), 39.7802, -89.65, acc=500), now)
    assert low.low_accuracy


def test_filter_follows_a_real_relocation():
    f = gps.FixFilter()
    now = T0 + timedelta(minutes=5)
    f.check(_fix(T0, 39.78, -89.65), now)
    assert f.check(_fix(T0 + timedelta(seconds=10), 39.90, -89.65), now).reason == "impossible_jump"
    # the tracker really is there: the next fix agrees with the refused one
    assert isinstance(f.check(_fix(T0 + timedelta(seconds=20), 39.9001, -89.65), now), gps.Fix)


def _watch():
    corridor = Corridor([tuple(p) for p in ROUTE], 60)
    dest = corridor.fence(DESTINATION["name"], DESTINATION["lon"], DESTINATION["lat"], 150)
    origin = corridor.fence("Site", ROUTE[0][0], ROUTE[0][1], 150)
    return corridor, TripWatch(
        "trip",
        "site",
        "veh",
        corridor,
        dest,
        [origin],
        T0 + timedelta(minutes=30),
        T0,
        WatchSettings(),
    )


def _feed(corridor, watch, at, lat, lon, low=False):
    x, y = corridor.project(lon, lat)
    fix = gps.Fix("d", at, lat, lon, low_accuracy=low)
    return watch.observe(fix, x, y, corridor.offset_m(lon, lat), at)


def test_watch_deviation_needs_duration_and_ignores_one_bad_fix():
    corridor, watch = _watch()
    fixes = drive(T0)
    found = []
    for at, lat, lon in fixes[:10]:
        found += _feed(corridor, watch, at, lat, lon)
    at = fixes[10][0]
    found += _feed(corridor, watch, at, fixes[10][1], fixes[10][2] - 0.01)  # one fix 850 m away
    found += _feed(corridor, watch, at + timedelta(seconds=10), fixes[11][1], fixes[11][2])
    assert found == []
    # a real detour: off the corridor for more than a minute
    for i in range(10):
        found += _feed(
            corridor,
            watch,
            at + timedelta(seconds=20 + 10 * i),
            fixes[11][1],
            fixes[11][2] - 0.005 - i * 0.0005,
        )
    assert [f.kind for f in found] == ["deviation"]


def test_watch_stop_silent_overdue_arrival():
    corridor, watch = _watch()
    fixes = drive(T0)
    found = []
    at, lat, lon = fixes[20]
    for i in range(15):
        found += _feed(corridor, watch, at + timedelta(minutes=i), lat, lon)
    assert [f.kind for f in found] == ["unscheduled_stop"]
    assert watch.check(at + timedelta(minutes=16)) == []
    assert [f.kind for f in watch.check(at + timedelta(minutes=20))] == ["tracker_silent"]
    assert [f.kind for f in watch.check(T0 + timedelta(minutes=41))] == ["overdue"]
    end = fixes[-1]
    assert [
        f.kind for f in _feed(corridor, watch, end[0] + timedelta(hours=1), end[1], end[2])
    ] == ["arrived"]

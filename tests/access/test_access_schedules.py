"""Schedules in local time: DST in America/Chicago, holidays, midnight crossing, end of day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bastion.access.schedules import LocalClock, compile_schedules, day_index, weekday_of
from tests.access.conftest import local


@pytest.fixture
def schedules(lab_site):
    return compile_schedules(lab_site)[1]


def test_local_clock_matches_zoneinfo_across_a_year():
    clock = LocalClock("America/Chicago")
    t = datetime(2026, 1, 1, tzinfo=UTC)
    while t < datetime(2027, 1, 1, tzinfo=UTC):
        day, minute = clock.local(t.timestamp())
        wall = t.astimezone(local(2026, 1, 1).tzinfo)
        assert day == day_index(wall.date()), t
        assert minute == wall.hour * 60 + wall.minute, t
        assert weekday_of(day) == wall.weekday()
        t += timedelta(minutes=37)


def test_spring_forward_skips_the_missing_hour(schedules):
    early = schedules["early"]  # 01:00–03:00 local
    # 2026-03-08: 02:00 CST jumps to 03:00 CDT.
    at_0130 = datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # 01:30 CST
    at_0300 = datetime(2026, 3, 8, 8, 0, tzinfo=UTC)  # 03:00 CDT, one real hour after 02:00 CST
    assert early.active(at_0130.timestamp())
    assert early.active((at_0130 + timedelta(minutes=29)).timestamp())
    assert not early.active(at_0300.timestamp())
    # The window lasted only one real hour that night.
    minutes = sum(
        early.active((datetime(2026, 3, 8, 5, 0, tzinfo=UTC) + timedelta(minutes=m)).timestamp())
        for m in range(6 * 60)
    )
    assert minutes == 60


def test_fall_back_repeats_the_hour(schedules):
    early = schedules["early"]
    # 2026-11-01: 02:00 CDT falls back to 01:00 CST; 01:00–03:00 local lasts three real hours.
    minutes = sum(
        early.active((datetime(2026, 11, 1, 5, 0, tzinfo=UTC) + timedelta(minutes=m)).timestamp())
        for m in range(6 * 60)
    )
    assert minutes == 180
    first_0130 = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    second_0130 = datetime(2026, 11, 1, 7, 30, tzinfo=UTC)
    assert early.active(first_0130.timestamp()) and early.active(second_0130.timestamp())


def test_business_hours_follow_local_time_across_dst(schedules):
    business = schedules["business"]
    # 09:00 local is 15:00 UTC in winter and 14:00 UTC in summer.
    assert business.active(datetime(2026, 3, 6, 15, 0, tzinfo=UTC).timestamp())  # Fri CST
    assert not business.active(datetime(2026, 3, 6, 14, 59, tzinfo=UTC).timestamp())
    assert business.active(datetime(2026, 3, 9, 14, 0, tzinfo=UTC).timestamp())  # Mon CDT
    assert not business.active(datetime(2026, 3, 9, 13, 59, tzinfo=UTC).timestamp())


def test_holiday_uses_holiday_intervals(schedules):
    business = schedules["business"]
    assert not business.active(local(2026, 3, 10, 9, 30).timestamp())
    assert business.active(local(2026, 3, 10, 10, 0).timestamp())
    assert not business.active(local(2026, 3, 10, 12, 0).timestamp())
    assert business.active(local(2026, 3, 11, 9, 30).timestamp())


def test_midnight_crossing_and_end_of_day(schedules):
    night, allday = schedules["night"], schedules["allday"]
    assert night.active(local(2026, 3, 9, 22, 0).timestamp())
    assert night.active(local(2026, 3, 10, 5, 59).timestamp())
    assert not night.active(local(2026, 3, 10, 6, 0).timestamp())
    assert not night.active(local(2026, 3, 10, 21, 59).timestamp())
    assert allday.active(local(2026, 3, 9, 23, 59, 30).timestamp())
    assert allday.active(local(2026, 3, 9, 0, 0).timestamp())

"""Compile site schedules into per-weekday minute bitsets read in the site's local time.

Local time comes from :mod:`zoneinfo`, so DST is right: on spring-forward day the
skipped local hour never matches, and on fall-back day the repeated hour matches twice.
The UTC offset is cached per quarter-hour (every modern zone changes offset on a
quarter-hour boundary), so a look-up is integer arithmetic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from bastion.site.schemas import ALL_DAYS, Interval, Schedule, Site

MINUTES_PER_DAY = 1440
_EPOCH = dt.date(1970, 1, 1)
_BUCKET_S = 900
_END_OF_DAY = dt.time(23, 59)


def day_index(date: dt.date) -> int:
    """Return the number of days since 1970-01-01 (a Thursday)."""
    return (date - _EPOCH).days


def weekday_of(day: int) -> int:
    """Return the weekday (Monday 0) of a day index."""
    return (day + 3) % 7


def interval_minutes(interval: Interval) -> tuple[int, int]:
    """Return (start, end) minutes of an interval; an end of 23:59 means the end of the day."""
    start = interval.start.hour * 60 + interval.start.minute
    end = (
        MINUTES_PER_DAY
        if interval.end == _END_OF_DAY
        else interval.end.hour * 60 + interval.end.minute
    )
    return start, end


def _bits(intervals: Iterable[Interval]) -> tuple[int, ...]:
    days = [0] * 7
    for interval in intervals:
        start, end = interval_minutes(interval)
        for name in interval.days:
            weekday = ALL_DAYS.index(name)
            if start < end:
                days[weekday] |= ((1 << (end - start)) - 1) << start
            elif start > end:
                # Crosses midnight: the tail belongs to the next weekday.
                days[weekday] |= ((1 << (MINUTES_PER_DAY - start)) - 1) << start
                days[(weekday + 1) % 7] |= (1 << end) - 1
    return tuple(days)


class LocalClock:
    """Convert epoch seconds to (local day index, minute of day) in one time zone."""

    __slots__ = ("_cache", "tz")

    def __init__(self, timezone: str) -> None:
        self.tz = ZoneInfo(timezone)
        self._cache: tuple[int, int] = (-1, 0)

    def local(self, t: float) -> tuple[int, int]:
        """Return the local day index and minute of day of epoch second ``t``."""
        second = int(t // 1)
        bucket = second // _BUCKET_S
        cached_bucket, offset = self._cache
        if bucket != cached_bucket:
            moment = dt.datetime.fromtimestamp(bucket * _BUCKET_S, dt.UTC).astimezone(self.tz)
            delta = moment.utcoffset()
            offset = int(delta.total_seconds()) if delta is not None else 0
            self._cache = (bucket, offset)
        local = second + offset
        return local // 86400, (local % 86400) // 60


class CompiledSchedule:
    """One schedule as minute bitsets per weekday, with its holidays as local day indices."""

    __slots__ = ("bits", "clock", "holiday_bits", "holidays", "id")

    def __init__(self, schedule: Schedule, site: Site, clock: LocalClock) -> None:
        self.id = schedule.id
        self.clock = clock
        self.bits = _bits(schedule.intervals)
        self.holiday_bits = _bits(schedule.holiday_intervals)
        sets = {h.id: h for h in site.holiday_sets}
        self.holidays = frozenset(
            day_index(holiday.date)
            for set_id in schedule.holidays
            for holiday in sets[set_id].holidays
        )

    def active(self, t: float) -> bool:
        """Return True when the schedule applies at epoch second ``t``."""
        day, minute = self.clock.local(t)
        table = self.holiday_bits if day in self.holidays else self.bits
        return bool((table[(day + 3) % 7] >> minute) & 1)

    def local_day(self, t: float) -> int:
        """Return the local day index of ``t``."""
        return self.clock.local(t)[0]


def compile_schedules(site: Site) -> tuple[LocalClock, dict[str, CompiledSchedule]]:
    """Return the site's local clock and every schedule compiled, by id."""
    clock = LocalClock(site.site.timezone)
    return clock, {s.id: CompiledSchedule(s, site, clock) for s in site.schedules}

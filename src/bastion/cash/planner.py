"""The armored-pickup planner: unpredictable times inside the allowed windows.

A slot is a whole local hour inside the site's pickup schedule; its key is the weekday
and hour. The planner never reuses a key used by any of the last K pickups, keeps at
most M pickups in a week, and picks at random among what is left (with a random minute
inside the hour), so no weekly pattern forms. When the vault is over its trigger it
takes the earliest allowed slot instead. Nothing here touches the database.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bastion.access.schedules import compile_schedules
from bastion.site.schemas import Site

MINUTE_STEP = 5
_SYSTEM_RANDOM = secrets.SystemRandom()


@dataclass(frozen=True)
class Slot:
    """One allowed local hour: when it starts (UTC), its weekday-and-hour key, its local day."""

    start: datetime
    key: int
    day: date

    @property
    def week(self) -> tuple[int, int]:
        """Return the ISO (year, week) of the slot."""
        iso = self.start.isocalendar()
        return iso[0], iso[1]


def slot_key(moment: datetime, timezone: str) -> int:
    """Return weekday × 24 + hour of a moment in the site's time (Monday 0)."""
    local = moment.astimezone(ZoneInfo(timezone))
    return local.weekday() * 24 + local.hour


def describe_key(key: int) -> str:
    """Return ``Tue 11:00`` for a slot key."""
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    return f"{days[key // 24]} {key % 24:02d}:00"


def slots(site: Site, schedule_id: str, *, after: datetime, days: int) -> list[Slot]:
    """Return the whole local hours within the schedule from ``after`` for ``days`` days."""
    _clock, compiled = compile_schedules(site)
    schedule = compiled.get(schedule_id)
    if schedule is None:
        return []
    zone = ZoneInfo(site.site.timezone)
    local = after.astimezone(zone).replace(minute=0, second=0, microsecond=0)
    found: list[Slot] = []
    for step in range(1, days * 24 + 1):
        start = (local + timedelta(hours=step)).astimezone(UTC)
        last = start + timedelta(minutes=59)
        if schedule.active(start.timestamp()) and schedule.active(last.timestamp()):
            found.append(
                Slot(start, slot_key(start, site.site.timezone), start.astimezone(zone).date())
            )
    return found


def choose(
    candidates: Sequence[Slot],
    *,
    recent_keys: Iterable[int],
    taken: Sequence[datetime],
    per_week: int,
    timezone: str,
    urgent: bool = False,
    rng: random.Random | None = None,
) -> datetime | None:
    """Return the time of the next pickup, or None when no slot satisfies the rules.

    ``recent_keys`` are the slot keys of the last K pickups; ``taken`` the times of
    pickups already scheduled or done (for the weekly cap and for spacing).
    """
    rng = rng or _SYSTEM_RANDOM
    avoid = set(recent_keys)
    weekly: dict[tuple[int, int], int] = {}
    for moment in taken:
        iso = moment.isocalendar()
        weekly[(iso[0], iso[1])] = weekly.get((iso[0], iso[1]), 0) + 1
    zone = ZoneInfo(timezone)
    busy_days = {moment.astimezone(zone).date() for moment in taken}
    allowed = [
        s
        for s in candidates
        if s.key not in avoid and weekly.get(s.week, 0) < per_week and s.day not in busy_days
    ]
    if not allowed:
        return None
    chosen = min(allowed, key=lambda s: s.start) if urgent else rng.choice(allowed)
    return chosen.start + timedelta(minutes=rng.randrange(0, 60, MINUTE_STEP))

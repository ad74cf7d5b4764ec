"""Varied routes and departure times: no route + hour repeats within the last K trips.

Each candidate (a stored route, a departure slot inside an allowed window) is scored by
how predictable it would be given the last K trips to the same destination: the share
of those trips that used the same route and the share that left in the same local hour,
averaged (0 = never seen, 1 = always the same). Candidates whose route *and* hour both
appeared in the last K trips are excluded; one of the rest is drawn at random, weighted
towards the least predictable, so an observer cannot learn the schedule either.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bastion.core.errors import Conflict, InvalidInput

SLOT = timedelta(minutes=15)


@dataclass(frozen=True)
class Window:
    """A span of time in which a departure is allowed (UTC)."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Past:
    """A previous trip to the same destination: its route and departure time."""

    route_id: str
    depart_at: datetime


@dataclass(frozen=True)
class Plan:
    """The chosen route and departure, and how predictable it is (0..1)."""

    route_id: str
    depart_at: datetime
    predictability: float


def _hour(moment: datetime, zone: ZoneInfo) -> int:
    return moment.astimezone(zone).hour


def score(route_id: str, depart_at: datetime, history: Sequence[Past], zone: ZoneInfo) -> float:
    """Return how predictable a plan is against the recent trips (0 never seen … 1 always)."""
    if not history:
        return 0.0
    hour = _hour(depart_at, zone)
    same_route = sum(1 for p in history if p.route_id == route_id)
    same_hour = sum(1 for p in history if _hour(p.depart_at, zone) == hour)
    return round((same_route + same_hour) / (2 * len(history)), 3)


def slots(windows: Sequence[Window]) -> list[datetime]:
    """Return every 15-minute departure slot inside the windows."""
    found: list[datetime] = []
    for window in windows:
        if window.end < window.start:
            raise InvalidInput("a departure window must not end before it starts")
        moment = window.start
        while moment <= window.end:
            found.append(moment)
            moment += SLOT
    return found


def choose(
    *,
    routes: Sequence[str],
    windows: Sequence[Window],
    history: Sequence[Past],
    zone: ZoneInfo,
    k: int,
    rng: random.Random,
) -> Plan:
    """Choose a route and departure that repeats no route + hour of the last ``k`` trips."""
    if not routes:
        raise InvalidInput("store at least one route to this destination first")
    recent = list(history)[-k:] if k > 0 else []
    used = {(p.route_id, _hour(p.depart_at, zone)) for p in recent}
    candidates = [
        Plan(route, moment, score(route, moment, recent, zone))
        for route in routes
        for moment in slots(windows)
        if (route, _hour(moment, zone)) not in used
    ]
    if not candidates:
        raise Conflict(
            f"every route and hour was used in the last {k} trips; widen the departure "
            "windows or store another route"
        )
    weights = [1.0 - c.predictability + 0.05 for c in candidates]
    return rng.choices(candidates, weights=weights, k=1)[0]

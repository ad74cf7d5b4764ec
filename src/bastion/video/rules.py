"""Zone rules with time: loitering, parked vehicle, line crossing, after-hours presence.

Tracking libraries answer "inside now" and "crossed now"; the product needs "inside for
N seconds" and "still for N seconds". Each rule is a small state machine per track,
timed by the wall clock (not by frame counts), so the timers stay right when detection
runs less often under load. Membership is the bottom centre of the box (where the object
stands), as Frigate does. Geometry is in relative coordinates (0–1) of the camera image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Literal

from shapely.geometry import LineString, Point, Polygon
from shapely.prepared import prep

from bastion.video.detector import PERSON, VEHICLES
from bastion.video.tracker import Track

RuleKind = Literal["loitering", "parked", "line", "after_hours"]


@dataclass(frozen=True)
class RuleSpec:
    """One rule drawn on a camera image, tied to a zone of the site model."""

    id: str
    kind: RuleKind
    points: tuple[tuple[float, float], ...]
    seconds: float = 10.0
    zone_id: str | None = None
    labels: frozenset[str] = frozenset()
    grace_s: float = 2.0
    still: float = 0.02
    starts: time | None = None
    ends: time | None = None

    def wanted(self) -> frozenset[str]:
        """Return the labels the rule watches (its own, else the kind's default)."""
        if self.labels:
            return self.labels
        return VEHICLES if self.kind == "parked" else frozenset({PERSON})


@dataclass(frozen=True)
class RuleHit:
    """A rule fired for one track."""

    rule: RuleSpec
    track_id: int
    label: str
    score: float
    box: tuple[float, float, float, float]
    at: float
    seconds: float = 0.0
    direction: str = ""


@dataclass
class _State:
    since: float
    last_inside: float
    ref: tuple[float, float] = (0.0, 0.0)
    fired: bool = False
    side: int = 0


def in_window(at: datetime, starts: time, ends: time) -> bool:
    """Return True when the local time of ``at`` lies in [starts, ends), wrapping midnight."""
    now = at.time()
    if starts <= ends:
        return starts <= now < ends
    return now >= starts or now < ends


@dataclass
class RuleEngine:
    """Evaluate a camera's rules on its confirmed tracks; return what fired."""

    specs: list[RuleSpec]
    width: int
    height: int
    line_margin: float = 0.01
    states: dict[tuple[str, int], _State] = field(default_factory=dict)
    crossings: dict[str, dict[str, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._shapes = {}
        for spec in self.specs:
            pixels = [(x * self.width, y * self.height) for x, y in spec.points]
            if spec.kind == "line":
                self._shapes[spec.id] = LineString(pixels)
            else:
                self._shapes[spec.id] = prep(Polygon(pixels))
            self.crossings.setdefault(spec.id, {"in": 0, "out": 0})

    def update(
        self, tracks: list[Track], now: float, local: datetime | None = None
    ) -> list[RuleHit]:
        """Advance every rule to ``now`` (seconds) with ``tracks``; ``local`` is the site's time."""
        hits: list[RuleHit] = []
        for spec in self.specs:
            wanted = spec.wanted()
            for track in tracks:
                if track.label not in wanted:
                    continue
                hit = self._step(spec, track, now, local)
                if hit is not None:
                    hits.append(hit)
        # Forget states of tracks gone for longer than the grace period.
        live = {t.id for t in tracks}
        for key, state in list(self.states.items()):
            if key[1] not in live and now - state.last_inside > 60.0:
                del self.states[key]
        return hits

    def _step(
        self, spec: RuleSpec, track: Track, now: float, local: datetime | None
    ) -> RuleHit | None:
        x, y = track.anchor
        key = (spec.id, track.id)
        if spec.kind == "line":
            return self._line(spec, track, now, key)
        inside = self._shapes[spec.id].contains(Point(x, y))
        state = self.states.get(key)
        if not inside:
            if state is not None and now - state.last_inside > spec.grace_s:
                del self.states[key]
            return None
        if state is None or now - state.last_inside > spec.grace_s:
            state = self.states[key] = _State(since=now, last_inside=now, ref=(x, y))
        state.last_inside = now
        if spec.kind == "parked":
            drift = math.hypot(x - state.ref[0], y - state.ref[1])
            if drift > spec.still * math.hypot(self.width, self.height):
                state.since, state.ref = now, (x, y)
        if spec.kind == "after_hours":
            if local is None or spec.starts is None or spec.ends is None:
                return None
            if not in_window(local, spec.starts, spec.ends):
                return None
        elif now - state.since < spec.seconds:
            return None
        if state.fired:
            return None
        state.fired = True
        return RuleHit(spec, track.id, track.label, track.score, track.box, now, now - state.since)

    def _line(
        self, spec: RuleSpec, track: Track, now: float, key: tuple[str, int]
    ) -> RuleHit | None:
        line = self._shapes[spec.id]
        (ax, ay), (bx, by) = line.coords[0], line.coords[-1]
        x, y = track.anchor
        length = math.hypot(bx - ax, by - ay) or 1.0
        along = ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / (length * length)
        if not 0.0 <= along <= 1.0:
            return None
        signed = ((bx - ax) * (y - ay) - (by - ay) * (x - ax)) / length
        # Hysteresis: a side counts only beyond a margin, so standing on the line is no crossing.
        margin = self.line_margin * math.hypot(self.width, self.height)
        side = 1 if signed > margin else -1 if signed < -margin else 0
        state = self.states.get(key)
        if state is None:
            self.states[key] = _State(since=now, last_inside=now, side=side)
            return None
        state.last_inside = now
        if side == 0 or side == state.side:
            return None
        previous, state.side = state.side, side
        if previous == 0:
            return None
        direction = "in" if side > 0 else "out"
        self.crossings[spec.id][direction] += 1
        return RuleHit(
            spec, track.id, track.label, track.score, track.box, now, direction=direction
        )

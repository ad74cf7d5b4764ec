"""The live watch of one trip: deviation, unscheduled stop, overdue, silent tracker, panic.

Pure and in memory (no database): the runtime feeds it filtered fixes and the clock,
and turns its findings into alarms and ledger events. A finding of a kind is made once
per trip. Deviation and stops are judged on fix times over a duration, never on one
fix, and never on a low-accuracy fix, so one bad position cannot raise an alarm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bastion.transport.geometry import Corridor, Fence
from bastion.transport.gps import Fix, Signal

ALARM_KINDS = (
    "deviation",
    "unscheduled_stop",
    "overdue",
    "tracker_silent",
    "compartment_opened",
    "panic",
)


@dataclass(frozen=True)
class WatchSettings:
    """Thresholds of the watch (per site)."""

    off_corridor_s: float = 60.0
    stop_minutes: float = 10.0
    stop_radius_m: float = 50.0
    silent_minutes: float = 5.0
    overdue_minutes: float = 10.0
    fence_radius_m: float = 150.0


@dataclass(frozen=True)
class Finding:
    """Something the watch found: an alarm kind or a milestone (``arrived``)."""

    trip_id: str
    kind: str
    at: datetime
    message: str
    lat: float | None = None
    lon: float | None = None


@dataclass
class TripWatch:
    """Watch state of one departed trip."""

    trip_id: str
    site_id: str
    vehicle_id: str
    corridor: Corridor
    destination: Fence
    fences: Sequence[Fence]
    arrive_by: datetime
    heard_at: datetime
    settings: WatchSettings = field(default_factory=WatchSettings)
    found: set[str] = field(default_factory=set)
    off_since: datetime | None = None
    anchor: tuple[float, float, datetime] | None = None
    arrived: bool = False
    last: Fix | None = None
    last_offset_m: float | None = None

    def _once(self, kind: str, at: datetime, message: str, fix: Fix | None = None) -> list[Finding]:
        if kind in self.found:
            return []
        self.found.add(kind)
        return [
            Finding(
                self.trip_id,
                kind,
                at,
                message,
                fix.lat if fix else None,
                fix.lon if fix else None,
            )
        ]

    def _in_fence(self, x: float, y: float) -> str | None:
        for fence in (self.destination, *self.fences):
            if fence.contains(x, y):
                return fence.name
        return None

    def observe(
        self, fix: Fix, x: float, y: float, offset_m: float, received: datetime
    ) -> list[Finding]:
        """Judge one accepted fix (already projected and measured against the corridor)."""
        self.heard_at = max(self.heard_at, received)
        self.last = fix
        self.last_offset_m = offset_m
        if fix.low_accuracy:
            return []
        findings: list[Finding] = []
        fence = self._in_fence(x, y)
        if not self.arrived and self.destination.contains(x, y):
            self.arrived = True
            findings += self._once("arrived", fix.at, f"Arrived at {self.destination.name}", fix)
        if offset_m > self.corridor.width_m / 2 and fence is None:
            if self.off_since is None:
                self.off_since = fix.at
            elif (fix.at - self.off_since).total_seconds() >= self.settings.off_corridor_s:
                findings += self._once(
                    "deviation",
                    fix.at,
                    f"Left the planned route: {offset_m:.0f} m off the corridor for "
                    f"{(fix.at - self.off_since).total_seconds():.0f} s",
                    fix,
                )
        else:
            self.off_since = None
        if self.anchor is not None:
            ax, ay, since = self.anchor
            if (x - ax) ** 2 + (y - ay) ** 2 <= self.settings.stop_radius_m**2:
                minutes = (fix.at - since).total_seconds() / 60
                if minutes >= self.settings.stop_minutes and fence is None:
                    findings += self._once(
                        "unscheduled_stop",
                        fix.at,
                        f"Stopped for {minutes:.0f} min away from any planned stop",
                        fix,
                    )
                return findings
        self.anchor = (x, y, fix.at)
        return findings

    def signal(self, signal: Signal) -> list[Finding]:
        """Judge a panic button or region report from the tracker."""
        if signal.kind == "panic":
            return self._once("panic", signal.at, "The crew pressed the panic button")
        return []

    def compartment_opened(self, at: datetime) -> list[Finding]:
        """Judge the secure compartment opening: an alarm unless inside a planned stop."""
        if self.last is not None and not self.last.low_accuracy:
            x, y = self.corridor.project(self.last.lon, self.last.lat)
            if self._in_fence(x, y) is not None:
                return []
        return self._once(
            "compartment_opened", at, "The secure compartment opened away from a stop"
        )

    def check(self, now: datetime) -> list[Finding]:
        """Judge the passing of time: tracker silent, trip overdue."""
        findings: list[Finding] = []
        silent = now - self.heard_at
        if silent >= timedelta(minutes=self.settings.silent_minutes):
            findings += self._once(
                "tracker_silent",
                now,
                f"No position from the tracker for {silent.total_seconds() / 60:.0f} min",
            )
        if not self.arrived and now >= self.arrive_by + timedelta(
            minutes=self.settings.overdue_minutes
        ):
            findings += self._once(
                "overdue",
                now,
                f"Not arrived at {self.destination.name}; due {self.settings.overdue_minutes:.0f} min ago or more",
            )
        return findings

"""Door supervision from reader inputs: granted opening, request-to-exit, forced and held open.

A pure state machine: methods take the monotonic time and return what happened;
the integration turns outcomes into events and reader feedback. It never reads a
clock itself, so tests drive it with plain numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    """Something the supervisor observed at a door."""

    UNLOCKED = "unlocked"
    LOCKED = "locked"
    OPENED = "opened"
    CLOSED = "closed"
    REX = "rex"
    FORCED = "forced"
    PREALARM = "prealarm"
    HELD = "held"


@dataclass(frozen=True, slots=True)
class DoorOutcome:
    """One outcome with how long the door had been open, when that applies."""

    kind: Outcome
    duration_s: float | None = None


@dataclass
class DoorSupervisor:
    """Track one door's strike, contact and REX and decide forced / held open."""

    door_id: str
    held_open_s: float
    prealarm_s: float = 5.0
    rex_window_s: float = 10.0
    grace_s: float = 1.0
    unlocked_until: float | None = None
    rex_until: float | None = None
    opened_at: float | None = None
    authorized: bool = False
    prealarm_sent: bool = False
    held: bool = False
    rex_active: bool = False

    @property
    def is_open(self) -> bool:
        """Return whether the contact reports the door open."""
        return self.opened_at is not None

    def grant(self, now: float, strike_s: float) -> list[DoorOutcome]:
        """Release the strike for ``strike_s`` seconds after a granted decision."""
        self.unlocked_until = now + strike_s
        return [DoorOutcome(Outcome.UNLOCKED)]

    def rex(self, now: float, pressed: bool) -> list[DoorOutcome]:
        """Handle the REX input; a press shunts the contact for the REX window."""
        was, self.rex_active = self.rex_active, pressed
        if pressed and not was:
            self.rex_until = now + self.rex_window_s
            return [DoorOutcome(Outcome.REX)]
        return []

    def contact(self, now: float, is_open: bool) -> list[DoorOutcome]:
        """Handle a door-contact change."""
        if is_open and self.opened_at is None:
            self.opened_at = now
            self.prealarm_sent = self.held = False
            granted = self.unlocked_until is not None and now <= self.unlocked_until + self.grace_s
            rexed = self.rex_active or (self.rex_until is not None and now <= self.rex_until)
            self.authorized = granted or rexed
            self.rex_until = None
            if self.authorized:
                return [DoorOutcome(Outcome.OPENED)]
            return [DoorOutcome(Outcome.FORCED)]
        if not is_open and self.opened_at is not None:
            duration = now - self.opened_at
            self.opened_at = None
            out = [DoorOutcome(Outcome.CLOSED, duration)]
            if self.unlocked_until is not None:
                self.unlocked_until = None
                out.append(DoorOutcome(Outcome.LOCKED))
            return out
        return []

    def tick(self, now: float) -> list[DoorOutcome]:
        """Advance timers: relock after the strike time, pre-alarm and held-open."""
        out: list[DoorOutcome] = []
        if self.unlocked_until is not None and self.opened_at is None and now > self.unlocked_until:
            self.unlocked_until = None
            out.append(DoorOutcome(Outcome.LOCKED))
        if self.opened_at is not None and self.authorized and not self.held:
            open_for = now - self.opened_at
            pre = max(0.0, self.held_open_s - min(self.prealarm_s, self.held_open_s / 2))
            if not self.prealarm_sent and open_for >= pre:
                self.prealarm_sent = True
                out.append(DoorOutcome(Outcome.PREALARM, open_for))
            if open_for >= self.held_open_s:
                self.held = True
                out.append(DoorOutcome(Outcome.HELD, open_for))
        return out

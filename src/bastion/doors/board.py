"""Live door states for the console, projected from committed door, lockdown and health events.

The board is a projection: it holds no truth of its own and can be rebuilt by
replaying the ledger. Device adapters (OSDP, MQTT) report what doors actually do;
operator and rule commands are shown as the state they ask for until a device
reports otherwise. Whether a door is locked down is not the board's to decide: it
reads the shared :class:`LockdownRegistry`, the same one the access engine denies by.
People cannot unlock a locked-down door without a reasoned override (the door API
refuses them); an unlock that still arrives (a rule, a fire playbook's egress) is
shown as an override, never as a quiet "unlocked", and lifting the last lockdown that
held such a door locks it again rather than leaving it silently unlocked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bastion.core.bus import Bus
from bastion.core.events import (
    EVENT_DEVICE_HEALTH,
    EVENT_DOOR_COMMAND,
    EVENT_DOOR_FORCED,
    EVENT_DOOR_HELD,
    EVENT_DOOR_OVERRIDE,
    EVENT_DOOR_STATE,
    EVENT_LOCKDOWN,
    DeviceHealthPayload,
    DoorCommandPayload,
    DoorOverridePayload,
    DoorPayload,
    Event,
    LockdownPayload,
)
from bastion.site.graph import SiteGraph
from bastion.site.lockdown import LockdownRegistry
from bastion.site.schemas import DeviceType, Site

STATES = ("locked", "unlocked", "open", "held", "forced", "lockdown", "override", "offline")
_COMMAND_STATE = {
    "lock": "locked",
    "release": "locked",
    "unlock": "unlocked",
    "momentary_unlock": "unlocked",
    "lockdown": "locked",
}
_UNLOCKING = frozenset({"unlock", "momentary_unlock"})


@dataclass(frozen=True)
class Override:
    """Who unlocked a locked-down door on purpose, and why."""

    actor: str | None
    reason: str
    lockdown_zone_ids: tuple[str, ...]


@dataclass
class DoorStatus:
    """What the console shows for one door."""

    state: str = "locked"
    offline_devices: set[str] = field(default_factory=set)
    alarm: str | None = None
    override: Override | None = None

    def shown(self, locked_down: bool) -> str:
        """Return the single state to colour the door by (alarms and faults first)."""
        if self.alarm in {"forced", "held"}:
            return self.alarm
        if self.offline_devices:
            return "offline"
        if locked_down:
            return "override" if self.override is not None else "lockdown"
        return self.state


class DoorBoard:
    """Door states of every loaded site, kept current from the bus."""

    def __init__(self, sites: Iterable[Site], lockdowns: LockdownRegistry | None = None) -> None:
        self.version = 0
        self.lockdowns = lockdowns if lockdowns is not None else LockdownRegistry()
        self._doors: dict[tuple[str, str], DoorStatus] = {}
        self._device_door: dict[tuple[str, str], str] = {}
        self._graphs: dict[str, SiteGraph] = {}
        for site in sites:
            self.add_site(site)

    def add_site(self, site: Site) -> None:
        """Start tracking the doors of ``site`` (all locked until told otherwise)."""
        sid = site.site.id
        self._graphs[sid] = SiteGraph(site)
        self.lockdowns.put_graph(sid, self._graphs[sid])
        for door in site.doors:
            self._doors.setdefault((sid, door.id), DoorStatus())
        for device in site.devices:
            if device.door and device.type in {DeviceType.READER, DeviceType.CONTACT}:
                self._device_door[(sid, device.id)] = device.door
        self.version += 1

    def states(self, site_id: str) -> dict[str, str]:
        """Return door id → shown state for one site."""
        locked = self.lockdowns.doors(site_id)
        return {
            door: s.shown(door in locked)
            for (sid, door), s in self._doors.items()
            if sid == site_id
        }

    def shown(self, site_id: str, door_id: str) -> str | None:
        """Return the shown state of one door (None: unknown door)."""
        status = self._doors.get((site_id, door_id))
        if status is None:
            return None
        return status.shown(door_id in self.lockdowns.doors(site_id))

    def status(self, site_id: str, door_id: str) -> DoorStatus | None:
        """Return the full status of one door."""
        return self._doors.get((site_id, door_id))

    def subscribe(self, bus: Bus) -> None:
        """Follow door, command, lockdown and health events on ``bus``. Must run in the loop."""
        bus.subscribe(
            self.apply,
            types=[
                EVENT_DOOR_STATE,
                EVENT_DOOR_FORCED,
                EVENT_DOOR_HELD,
                EVENT_DOOR_COMMAND,
                EVENT_LOCKDOWN,
                EVENT_DEVICE_HEALTH,
                EVENT_DOOR_OVERRIDE,
            ],
            mirrored=True,
        )

    def apply(self, event: Event[Any]) -> None:
        """Update the board from one committed event."""
        site_id = event.site
        if site_id is None or site_id not in self._graphs:
            return
        payload = event.payload
        changed = False
        if isinstance(payload, DoorPayload):
            changed = self._apply_door(site_id, event.type.name, payload)
        elif isinstance(payload, DoorCommandPayload):
            changed = self._apply_command(site_id, payload, event.context.actor)
        elif isinstance(payload, DoorOverridePayload):
            status = self._doors.get((site_id, payload.door_id))
            if status is not None:
                status.state, status.alarm = "unlocked", None
                status.override = Override(
                    event.context.actor, payload.reason, payload.lockdown_zone_ids
                )
                changed = True
        elif isinstance(payload, LockdownPayload):
            changed = self._apply_lockdown(site_id, payload, event.context.actor)
        elif isinstance(payload, DeviceHealthPayload):
            changed = self._apply_health(site_id, payload)
        if changed:
            self.version += 1

    def replay(self, events: Iterable[Event[Any]]) -> None:
        """Apply past events in order (e.g. the ledger's recent door events at start-up)."""
        for event in events:
            self.apply(event)

    def _apply_door(self, site_id: str, kind: str, payload: DoorPayload) -> bool:
        status = self._doors.get((site_id, payload.door_id))
        if status is None:
            return False
        if kind == "door.forced":
            status.alarm, status.state = "forced", "open"
        elif kind == "door.held":
            status.alarm, status.state = "held", "open"
        elif payload.state == "closed":
            status.alarm, status.state = None, "locked"
        elif payload.state in {"open", "locked", "unlocked"}:
            status.state = payload.state
        else:
            status.state = payload.state
        return True

    def _apply_command(self, site_id: str, payload: DoorCommandPayload, actor: str | None) -> bool:
        status = self._doors.get((site_id, payload.door_id))
        if status is None:
            return False
        holding = self.lockdowns.covering(site_id, payload.door_id)
        if payload.command in _UNLOCKING and holding:
            # People are refused at the API; what still arrives comes from a rule or a
            # playbook (fire egress). It is shown as an override and undone at the lift.
            status.override = Override(
                actor, payload.reason or "unlocked by automation", tuple(i.zone_id for i in holding)
            )
        status.state = _COMMAND_STATE[payload.command]
        status.alarm = None
        if payload.command not in _UNLOCKING:
            status.override = None
        return True

    def _apply_lockdown(self, site_id: str, payload: LockdownPayload, actor: str | None) -> bool:
        known = False
        for zone in payload.zone_ids:
            if not self.lockdowns.knows(site_id, zone):
                continue
            known = True
            if payload.active:
                self.lockdowns.start(site_id, zone, reason=payload.reason, by=actor)
            else:
                self.lockdowns.lift(site_id, zone)
        self.relock_overrides(site_id)
        return known

    def relock_overrides(self, site_id: str) -> list[str]:
        """Lock again every overridden door no lockdown holds any more; return their ids."""
        locked = self.lockdowns.doors(site_id)
        done = []
        for (sid, door), status in self._doors.items():
            if sid == site_id and status.override is not None and door not in locked:
                status.override, status.state = None, "locked"
                done.append(door)
        if done:
            self.version += 1
        return done

    def overrides(self, site_id: str) -> dict[str, Override]:
        """Return door id → the lockdown override in force on it."""
        return {
            door: s.override
            for (sid, door), s in self._doors.items()
            if sid == site_id and s.override is not None
        }

    def _apply_health(self, site_id: str, payload: DeviceHealthPayload) -> bool:
        door_id = self._device_door.get((site_id, payload.device_id))
        if door_id is None:
            return False
        status = self._doors[(site_id, door_id)]
        if payload.status == "offline":
            status.offline_devices.add(payload.device_id)
        elif payload.status in {"online", "restored"}:
            status.offline_devices.discard(payload.device_id)
        else:
            return False
        return True

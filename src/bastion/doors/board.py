"""Live door states for the console, projected from committed door, lockdown and health events.

The board is a projection: it holds no truth of its own and can be rebuilt by
replaying the ledger. Device adapters (OSDP, MQTT) report what doors actually do;
operator and rule commands are shown as the state they ask for until a device
reports otherwise.
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
    EVENT_DOOR_STATE,
    EVENT_LOCKDOWN,
    DeviceHealthPayload,
    DoorCommandPayload,
    DoorPayload,
    Event,
    LockdownPayload,
)
from bastion.site.graph import SiteGraph
from bastion.site.schemas import DeviceType, Site

STATES = ("locked", "unlocked", "open", "held", "forced", "lockdown", "offline")
_COMMAND_STATE = {
    "lock": "locked",
    "release": "locked",
    "unlock": "unlocked",
    "momentary_unlock": "unlocked",
    "lockdown": "lockdown",
}


@dataclass
class DoorStatus:
    """What the console shows for one door."""

    state: str = "locked"
    lockdown: bool = False
    offline_devices: set[str] = field(default_factory=set)
    alarm: str | None = None

    @property
    def shown(self) -> str:
        """Return the single state to colour the door by (alarms and faults first)."""
        if self.alarm in {"forced", "held"}:
            return self.alarm
        if self.offline_devices:
            return "offline"
        if self.lockdown:
            return "lockdown"
        return self.state


class DoorBoard:
    """Door states of every loaded site, kept current from the bus."""

    def __init__(self, sites: Iterable[Site]) -> None:
        self.version = 0
        self._doors: dict[tuple[str, str], DoorStatus] = {}
        self._device_door: dict[tuple[str, str], str] = {}
        self._graphs: dict[str, SiteGraph] = {}
        for site in sites:
            self.add_site(site)

    def add_site(self, site: Site) -> None:
        """Start tracking the doors of ``site`` (all locked until told otherwise)."""
        sid = site.site.id
        self._graphs[sid] = SiteGraph(site)
        for door in site.doors:
            self._doors.setdefault((sid, door.id), DoorStatus())
        for device in site.devices:
            if device.door and device.type in {DeviceType.READER, DeviceType.CONTACT}:
                self._device_door[(sid, device.id)] = device.door
        self.version += 1

    def states(self, site_id: str) -> dict[str, str]:
        """Return door id → shown state for one site."""
        return {door: s.shown for (sid, door), s in self._doors.items() if sid == site_id}

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
            ],
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
            status = self._doors.get((site_id, payload.door_id))
            if status is not None:
                status.state = _COMMAND_STATE[payload.command]
                status.lockdown = payload.command == "lockdown"
                status.alarm = None
                changed = True
        elif isinstance(payload, LockdownPayload):
            changed = self._apply_lockdown(site_id, payload)
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

    def _apply_lockdown(self, site_id: str, payload: LockdownPayload) -> bool:
        graph = self._graphs[site_id]
        doors = {d.id for z in payload.zone_ids if z in graph for d in graph.doors_of(z)}
        for door_id in doors:
            status = self._doors.get((site_id, door_id))
            if status is not None:
                status.lockdown = payload.active
                if not payload.active and status.state == "lockdown":
                    status.state = "locked"
        return bool(doors)

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

"""Action kinds: each validates its config, says which events it emits, and compiles a runner.

``ACTIONS`` maps each ``action`` name to its class. Runners append events to the run's
outbox; the engine commits the whole outbox to the ledger in one append and then
delivers it, so a rule's lock commands, PTZ command and notification cost one commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from bastion.automation import arming
from bastion.automation.references import Ref
from bastion.automation.state import RuleEnv, RunState
from bastion.core.events import (
    EVENT_ALARM_RAISED,
    EVENT_CAMERA_BOOKMARK,
    EVENT_CAMERA_PTZ,
    EVENT_DOOR_COMMAND,
    EVENT_INCIDENT,
    EVENT_LOCKDOWN,
    EVENT_NOTIFY,
    EVENT_THREAT_LEVEL,
    EVENT_ZONE_ARMING,
    AlarmPayload,
    CameraBookmarkPayload,
    CameraPtzPayload,
    DoorCommandPayload,
    EventType,
    IncidentPayload,
    LockdownPayload,
    NotifyPayload,
    P,
    ThreatLevelPayload,
    make_event,
)
from bastion.notify.templates import local_time

Runner = Callable[[RunState], Awaitable[None] | None]


@dataclass(frozen=True)
class Emission:
    """An event type an action may emit, with the payload values it is known to carry."""

    event_type: str
    known: dict[str, frozenset[Any]]


class ActionConfig(BaseModel):
    """Base of action configs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: str = Field(title="Action", description="Registered action name.")

    def references(self) -> list[Ref]:
        """Return the doors, zones, cameras and call trees the action names."""
        return []


def emit(run: RunState, event_type: EventType[P], payload: P) -> None:
    """Queue one event in the run's outbox, caused by the run's context."""
    run.outbox.append(
        make_event(event_type, payload, context=run.context, time=run.now, site=run.site_id)
    )


class Action:
    """Base of action kinds."""

    name: ClassVar[str]
    config_model: ClassVar[type[ActionConfig]]

    @classmethod
    def emits(cls, cfg: Any) -> list[Emission]:
        """Return the events the action may emit (used to reject rule cycles)."""
        return []

    @classmethod
    def compile(cls, cfg: Any, env: RuleEnv) -> Runner:
        """Return the runner of ``cfg``; raise ValueError for references that do not exist."""
        raise NotImplementedError


# --- doors ------------------------------------------------------------------------------------


class DoorActionConfig(ActionConfig):
    """Lock or unlock doors: ids, ``trigger`` (the event's door) or ``adjacent`` (its neighbours)."""

    action: Literal["lock_door", "unlock_door"] = Field(title="Action", description="lock/unlock")
    doors: list[str] | Literal["trigger", "adjacent"] = Field(
        title="Doors", description="Door ids, 'trigger' or 'adjacent'."
    )
    reason: str = Field(default="", title="Reason", description="Logged with each command.")

    def references(self) -> list[Ref]:
        """Return the doors named by id."""
        if not isinstance(self.doors, list):
            return []
        return [Ref("door", door, f"doors.{i}") for i, door in enumerate(self.doors)]


class LockDoor(Action):
    """Publish a lock command for each door."""

    name = "lock_door"
    config_model = DoorActionConfig
    command: ClassVar[Literal["lock", "unlock"]] = "lock"

    @classmethod
    def emits(cls, cfg: DoorActionConfig) -> list[Emission]:
        """Emit door.command with a known command."""
        known: dict[str, frozenset[Any]] = {"command": frozenset({cls.command})}
        if isinstance(cfg.doors, list):
            known["door_id"] = frozenset(cfg.doors)
        return [Emission(EVENT_DOOR_COMMAND.name, known)]

    @classmethod
    def compile(cls, cfg: DoorActionConfig, env: RuleEnv) -> Runner:
        """Resolve door ids now when fixed, or per run from the trigger."""
        command = cls.command
        reason = cfg.reason or f"rule {command}"
        if isinstance(cfg.doors, list):
            fixed = list(cfg.doors)

            def run_fixed(run: RunState) -> None:
                for door in fixed:
                    emit(
                        run,
                        EVENT_DOOR_COMMAND,
                        DoorCommandPayload(door_id=door, command=command, reason=reason),
                    )

            return run_fixed
        mode = cfg.doors
        cache: dict[tuple[str | None, str], list[str]] = {}

        def run_dynamic(run: RunState) -> None:
            door = run.door_id
            if door is None:
                return
            if mode == "trigger":
                doors = [door]
            else:
                key = (run.site_id, door)
                doors = cache.get(key)  # type: ignore[assignment]
                if doors is None:
                    graph = env.graph_for(run.site_id)
                    try:
                        doors = [d.id for d in graph.adjacent_doors(door)] if graph else []
                    except KeyError:
                        doors = []
                    cache[key] = doors
            for target in doors:
                emit(
                    run,
                    EVENT_DOOR_COMMAND,
                    DoorCommandPayload(door_id=target, command=command, reason=reason),
                )

        return run_dynamic


class UnlockDoor(LockDoor):
    """Publish an unlock command for each door."""

    name = "unlock_door"
    command = "unlock"


# --- zones, threat, alarms, incidents ---------------------------------------------------------


class LockdownConfig(ActionConfig):
    """Lock down a zone (default: the trigger's) and, by default, its adjacent zones."""

    action: Literal["lockdown"] = Field(title="Action", description="lockdown")
    zone: str = Field(default="trigger", title="Zone", description="Zone id or 'trigger'.")
    include_adjacent: bool = Field(
        default=True, title="Adjacent", description="Also lock down the zones one door away."
    )
    active: bool = Field(default=True, title="Active", description="False lifts the lockdown.")
    reason: str = Field(default="", title="Reason", description="Why.")

    def references(self) -> list[Ref]:
        """Return the zone when it is named by id."""
        return [] if self.zone == "trigger" else [Ref("zone", self.zone, "zone")]


class Lockdown(Action):
    """Publish ``site.lockdown`` for a zone and its adjacent zones."""

    name = "lockdown"
    config_model = LockdownConfig

    @classmethod
    def emits(cls, cfg: LockdownConfig) -> list[Emission]:
        """Emit site.lockdown."""
        return [Emission(EVENT_LOCKDOWN.name, {"active": frozenset({cfg.active})})]

    @classmethod
    def compile(cls, cfg: LockdownConfig, env: RuleEnv) -> Runner:
        """Resolve the zone and its neighbours per run."""

        def run(run: RunState) -> None:
            zone = run.zone_id if cfg.zone == "trigger" else cfg.zone
            if zone is None:
                run.trace("lockdown", skipped="no zone")
                return
            zones = [zone]
            graph = env.graph_for(run.site_id)
            if cfg.include_adjacent and graph is not None and zone in graph:
                zones += [z.id for z in graph.adjacent_zones(zone)]
            emit(
                run,
                EVENT_LOCKDOWN,
                LockdownPayload(zone_ids=tuple(zones), active=cfg.active, reason=cfg.reason),
            )

        return run


class ThreatConfig(ActionConfig):
    """Set the site-wide threat level."""

    action: Literal["set_threat_level"] = Field(title="Action", description="set_threat_level")
    level: int = Field(ge=0, le=10, title="Level", description="0 is normal.")
    name: str = Field(default="", title="Name", description="Display name.")
    reason: str = Field(default="", title="Reason", description="Why.")


class SetThreatLevel(Action):
    """Publish ``site.threat_level``."""

    name = "set_threat_level"
    config_model = ThreatConfig

    @classmethod
    def emits(cls, cfg: ThreatConfig) -> list[Emission]:
        """Emit site.threat_level with a known level."""
        return [Emission(EVENT_THREAT_LEVEL.name, {"level": frozenset({cfg.level})})]

    @classmethod
    def compile(cls, cfg: ThreatConfig, env: RuleEnv) -> Runner:
        """Return the runner."""
        payload = ThreatLevelPayload(level=cfg.level, name=cfg.name, reason=cfg.reason)
        return lambda run: emit(run, EVENT_THREAT_LEVEL, payload)


class _SafeFormat(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _render(text: str, run: RunState) -> str:
    """Fill a message: payload fields, plus the names people read and the site's local time."""
    payload = run.event.payload if run.event is not None else None
    values = _SafeFormat(payload.model_dump() if payload is not None else {})
    values.setdefault("zone_id", run.zone_id)
    values["rule_id"] = run.rule_id
    site = run.env.site_for(run.site_id)
    if "{" in text and site is not None:
        values.setdefault("site_name", site.site.name)
        moment = run.event.time if run.event is not None else run.now
        values.setdefault("time", local_time(moment, site.site.timezone))
        for key, lookup in (("zone", site.zone), ("door", site.door)):
            ident = values.get(f"{key}_id")
            if isinstance(ident, str):
                try:
                    values.setdefault(f"{key}_name", lookup(ident).name)
                except KeyError:
                    values.setdefault(f"{key}_name", ident)
    return text.format_map(values)


class RaiseAlarmConfig(ActionConfig):
    """Raise an alarm for operators (the alarms domain ingests it)."""

    action: Literal["raise_alarm"] = Field(title="Action", description="raise_alarm")
    alarm_type: str = Field(min_length=1, title="Alarm type", description="e.g. door_forced.")
    message: str = Field(
        title="Message",
        description="One line; {door_id}, {zone_id}, {door_name}, {zone_name}, {time} … filled in.",
    )
    priority: int = Field(default=3, ge=1, le=5, title="Priority", description="1 is most urgent.")


class RaiseAlarm(Action):
    """Publish ``alarm.raised``."""

    name = "raise_alarm"
    config_model = RaiseAlarmConfig

    @classmethod
    def emits(cls, cfg: RaiseAlarmConfig) -> list[Emission]:
        """Emit alarm.raised with a known type."""
        return [Emission(EVENT_ALARM_RAISED.name, {"alarm_type": frozenset({cfg.alarm_type})})]

    @classmethod
    def compile(cls, cfg: RaiseAlarmConfig, env: RuleEnv) -> Runner:
        """Return the runner."""

        def run(run: RunState) -> None:
            emit(
                run,
                EVENT_ALARM_RAISED,
                AlarmPayload(
                    alarm_type=cfg.alarm_type,
                    priority=cfg.priority,
                    message=_render(cfg.message, run),
                    zone_id=run.zone_id,
                    door_id=run.door_id,
                    device_id=getattr(run.event.payload, "device_id", None) if run.event else None,
                    source_event_id=run.event.id if run.event is not None else None,
                ),
            )

        return run


class IncidentConfig(ActionConfig):
    """Ask the alarms domain to open (or join) an incident for the trigger."""

    action: Literal["create_incident"] = Field(title="Action", description="create_incident")
    title: str = Field(min_length=1, title="Title", description="One line; placeholders allowed.")
    priority: int = Field(default=2, ge=1, le=5, title="Priority", description="1 is most urgent.")


class CreateIncident(Action):
    """Publish ``incident.changed`` with action ``requested``."""

    name = "create_incident"
    config_model = IncidentConfig

    @classmethod
    def emits(cls, cfg: IncidentConfig) -> list[Emission]:
        """Emit incident.changed (requested)."""
        return [Emission(EVENT_INCIDENT.name, {"action": frozenset({"requested"})})]

    @classmethod
    def compile(cls, cfg: IncidentConfig, env: RuleEnv) -> Runner:
        """Return the runner."""

        def run(run: RunState) -> None:
            zone = run.zone_id
            emit(
                run,
                EVENT_INCIDENT,
                IncidentPayload(
                    action="requested",
                    title=_render(cfg.title, run),
                    priority=cfg.priority,
                    zone_ids=(zone,) if zone else (),
                    source_event_id=run.event.id if run.event is not None else None,
                ),
            )

        return run


class NotifyConfig(ActionConfig):
    """Start a call tree or notify roles (the notification domain delivers it)."""

    action: Literal["notify", "call_tree"] = Field(title="Action", description="notify/call_tree")
    call_tree: str | None = Field(default=None, title="Call tree", description="Tree to start.")
    roles: list[str] = Field(default_factory=list, title="Roles", description="Roles to notify.")
    message: str = Field(
        title="Message",
        description="What to say; {door_name}, {zone_name}, {site_name}, {time} (site-local) …",
    )
    priority: int = Field(default=2, ge=1, le=5, title="Priority", description="1 is most urgent.")

    def references(self) -> list[Ref]:
        """Return the call tree and the roles (each starts the call tree of its name)."""
        refs = [Ref("call_tree", self.call_tree, "call_tree")] if self.call_tree else []
        return refs + [Ref("role", role, f"roles.{i}") for i, role in enumerate(self.roles)]


class Notify(Action):
    """Publish ``notify.requested``."""

    name = "notify"
    config_model = NotifyConfig

    @classmethod
    def emits(cls, cfg: NotifyConfig) -> list[Emission]:
        """Emit notify.requested."""
        return [Emission(EVENT_NOTIFY.name, {})]

    @classmethod
    def compile(cls, cfg: NotifyConfig, env: RuleEnv) -> Runner:
        """Return the runner; a call_tree action must name its tree."""
        if cfg.action == "call_tree" and not cfg.call_tree:
            raise ValueError("call_tree needs 'call_tree'")
        if not cfg.call_tree and not cfg.roles:
            raise ValueError("notify needs 'roles' or 'call_tree'")
        roles = tuple(cfg.roles)

        def run(run: RunState) -> None:
            emit(
                run,
                EVENT_NOTIFY,
                NotifyPayload(
                    call_tree=cfg.call_tree,
                    roles=roles,
                    message=_render(cfg.message, run),
                    priority=cfg.priority,
                    zone_id=run.zone_id,
                ),
            )

        return run


class StartCallTree(Notify):
    """Publish ``notify.requested`` naming a call tree."""

    name = "call_tree"


# --- cameras ----------------------------------------------------------------------------------


class PtzConfig(ActionConfig):
    """Send cameras to a PTZ preset: a camera id, or ``covering`` for the trigger zone's."""

    action: Literal["ptz_preset"] = Field(title="Action", description="ptz_preset")
    camera: str = Field(title="Camera", description="Camera id or 'covering'.")
    preset: str = Field(min_length=1, title="Preset", description="Preset name on the camera.")

    def references(self) -> list[Ref]:
        """Return the camera and its preset when the camera is named by id."""
        if self.camera == "covering":
            return []
        return [
            Ref("camera", self.camera, "camera"),
            Ref("preset", self.preset, "preset", camera=self.camera),
        ]


class PtzPreset(Action):
    """Publish ``camera.ptz`` (the Frigate integration sends it to the camera)."""

    name = "ptz_preset"
    config_model = PtzConfig

    @classmethod
    def emits(cls, cfg: PtzConfig) -> list[Emission]:
        """Emit camera.ptz."""
        return [Emission(EVENT_CAMERA_PTZ.name, {"preset": frozenset({cfg.preset})})]

    @classmethod
    def compile(cls, cfg: PtzConfig, env: RuleEnv) -> Runner:
        """Send the named camera, or the covering cameras with the preset, per run."""

        def run(run: RunState) -> None:
            if cfg.camera == "covering":
                site = env.site_for(run.site_id)
                cameras = [
                    c
                    for c in env.covering_cameras(run.site_id, run.zone_id)
                    if site is not None and cfg.preset in site.device(c).ptz_presets
                ]
            else:
                cameras = [cfg.camera]
            for camera in cameras:
                emit(
                    run,
                    EVENT_CAMERA_PTZ,
                    CameraPtzPayload(camera_id=camera, preset=cfg.preset, reason=run.rule_id),
                )

        return run


class BookmarkConfig(ActionConfig):
    """Bookmark recordings of cameras at the trigger time."""

    action: Literal["bookmark_cameras"] = Field(title="Action", description="bookmark_cameras")
    cameras: list[str] | Literal["covering"] = Field(
        default="covering", title="Cameras", description="Camera ids or 'covering'."
    )
    label: str = Field(default="{rule_id}", title="Label", description="Bookmark label.")

    def references(self) -> list[Ref]:
        """Return the cameras named by id."""
        if not isinstance(self.cameras, list):
            return []
        return [Ref("camera", cam, f"cameras.{i}") for i, cam in enumerate(self.cameras)]


class BookmarkCameras(Action):
    """Publish ``camera.bookmark``."""

    name = "bookmark_cameras"
    config_model = BookmarkConfig

    @classmethod
    def emits(cls, cfg: BookmarkConfig) -> list[Emission]:
        """Emit camera.bookmark."""
        return [Emission(EVENT_CAMERA_BOOKMARK.name, {})]

    @classmethod
    def compile(cls, cfg: BookmarkConfig, env: RuleEnv) -> Runner:
        """Return the runner."""

        def run(run: RunState) -> None:
            if cfg.cameras == "covering":
                cameras = env.covering_cameras(run.site_id, run.zone_id)
            else:
                cameras = list(cfg.cameras)
            if not cameras:
                run.trace("bookmark", skipped="no camera")
                return
            at = run.event.time if run.event is not None else run.now
            emit(
                run,
                EVENT_CAMERA_BOOKMARK,
                CameraBookmarkPayload(
                    camera_ids=tuple(cameras),
                    label=_render(cfg.label, run),
                    at=at,
                    zone_id=run.zone_id,
                ),
            )

        return run


# --- arming and delays ------------------------------------------------------------------------


class ArmConfig(ActionConfig):
    """Arm or disarm zones (24-hour zones refuse to disarm)."""

    action: Literal["arm_zone", "disarm_zone"] = Field(title="Action", description="arm/disarm")
    zones: list[str] = Field(min_length=1, title="Zones", description="Zone ids.")
    site: str | None = Field(default=None, title="Site", description="Site (default: the only).")
    exit_delay_s: float = Field(default=0.0, ge=0, title="Exit delay", description="Seconds.")
    entry_delay_s: float = Field(default=0.0, ge=0, title="Entry delay", description="Seconds.")

    def references(self) -> list[Ref]:
        """Return the site (when named) and the zones, at that site."""
        refs = [Ref("site", self.site, "site")] if self.site else []
        return refs + [
            Ref("zone", zone, f"zones.{i}", site=self.site) for i, zone in enumerate(self.zones)
        ]


class ArmZone(Action):
    """Arm zones in one unit of work (staged ``zone.arming`` events)."""

    name = "arm_zone"
    config_model = ArmConfig

    @classmethod
    def emits(cls, cfg: ArmConfig) -> list[Emission]:
        """Emit zone.arming."""
        state = "armed" if cfg.action == "arm_zone" else "disarmed"
        return [
            Emission(
                EVENT_ZONE_ARMING.name,
                {"state": frozenset({state}), "zone_id": frozenset(cfg.zones)},
            )
        ]

    @classmethod
    def compile(cls, cfg: ArmConfig, env: RuleEnv) -> Runner:
        """Refuse to disarm 24-hour zones (missing zones are the reference check's)."""
        armed = cfg.action == "arm_zone"
        site = env.site_for(cfg.site)
        if site is not None:
            for zone in site.zones:
                zone_id = zone.id
                if zone_id in cfg.zones and not armed and zone.always_armed:
                    raise ValueError(f"zone {zone_id!r} is a 24-hour zone and cannot be disarmed")

        def run(run: RunState) -> None:
            target = env.site_for(cfg.site or run.site_id)
            if target is None or env.hub is None:
                run.trace("arming", skipped="no site or no database")
                return
            if run.variables.get("dry_run"):
                run.trace("arming", dry_run=True, zones=cfg.zones, armed=armed)
                return
            with env.hub.unit_of_work() as session:
                for zone_id in cfg.zones:
                    event = arming.set_arming(
                        session=session,
                        site=target,
                        zone_id=zone_id,
                        armed=armed,
                        context=run.context,
                        now=run.now,
                        exit_delay_s=cfg.exit_delay_s,
                        entry_delay_s=cfg.entry_delay_s,
                        reason=f"rule {run.rule_id}",
                    )
                    env.board.apply(event)

        return run


class DisarmZone(ArmZone):
    """Disarm zones."""

    name = "disarm_zone"


class DelayConfig(ActionConfig):
    """Wait before the next action (earlier actions are committed first)."""

    action: Literal["delay"] = Field(title="Action", description="delay")
    seconds: float = Field(gt=0, le=86400, title="Seconds", description="How long to wait.")


class Delay(Action):
    """Flush the outbox, then sleep."""

    name = "delay"
    config_model = DelayConfig

    @classmethod
    def compile(cls, cfg: DelayConfig, env: RuleEnv) -> Runner:
        """Return the runner; the engine recognises it to flush before sleeping."""

        async def run(run: RunState) -> None:
            flush = run.variables.get("flush")
            if flush is not None:
                await flush(run)
            sleep = run.variables.get("sleep") or asyncio.sleep
            await sleep(cfg.seconds)

        return run


ACTIONS: dict[str, type[Action]] = {
    cls.name: cls
    for cls in (
        LockDoor,
        UnlockDoor,
        Lockdown,
        SetThreatLevel,
        RaiseAlarm,
        CreateIncident,
        Notify,
        StartCallTree,
        PtzPreset,
        BookmarkCameras,
        ArmZone,
        DisarmZone,
        Delay,
    )
}
"""Registered action kinds."""

"""Strict pydantic models of a site: zones in layers, doors, barriers, devices, schedules.

Every field has a title and a description so that the model documents itself;
cross-field checks are small ``verify_*`` functions run by :class:`Site`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from enum import IntEnum, StrEnum
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

CURRENT_VERSION = 1
OUTSIDE = "outside"
"""Reserved zone id for everything beyond the site boundary."""

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class StrictModel(BaseModel):
    """Base for site models: unknown fields are errors; instances are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Identifier = Annotated[
    str,
    Field(
        pattern=_ID_RE.pattern,
        title="Identifier",
        description="Lower-case letters, digits, '-' or '_'; at most 63 characters.",
    ),
]


class Layer(IntEnum):
    """Protection layers from outside to the vault; higher is deeper."""

    OUTSIDE = 0
    PERIMETER = 1
    BUILDING = 2
    INTERIOR = 3
    RESTRICTED = 4
    VAULT = 5

    @classmethod
    def parse(cls, value: object) -> Layer:
        """Accept a layer name (``"vault"``), its number (JSON dumps) or an existing member."""
        if isinstance(value, Layer):
            return value
        if isinstance(value, str) and value.upper() in cls.__members__:
            return cls[value.upper()]
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and value in cls._value2member_map_
        ):
            return cls(value)
        names = ", ".join(m.name.lower() for m in cls if m is not cls.OUTSIDE)
        raise ValueError(f"unknown layer {value!r}; expected one of {names}")


class Point(StrictModel):
    """A position on the site plan, in metres from its top-left corner."""

    x: float = Field(title="X", description="Metres east of the plan origin.")
    y: float = Field(title="Y", description="Metres south of the plan origin.")


class Rect(StrictModel):
    """An axis-aligned rectangle on the site plan, in metres."""

    x: float = Field(title="X", description="Left edge in metres.")
    y: float = Field(title="Y", description="Top edge in metres.")
    width: float = Field(gt=0, title="Width", description="Width in metres.")
    height: float = Field(gt=0, title="Height", description="Height in metres.")

    def contains(self, point: Point) -> bool:
        """Return True when ``point`` lies inside or on the edge."""
        return (
            self.x <= point.x <= self.x + self.width and self.y <= point.y <= self.y + self.height
        )


class SiteInfo(StrictModel):
    """Identity and locale of the site."""

    id: Identifier = Field(title="Site id", description="Stable identifier of the site.")
    name: str = Field(min_length=1, title="Name", description="Display name.")
    timezone: str = Field(
        title="Time zone",
        description="IANA time zone in which schedules and holidays are read.",
    )
    address: str = Field(default="", title="Address", description="Street address.")
    license_number: str = Field(
        default="", title="Licence", description="State licence number, if regulated."
    )
    facility_type: Literal["dispensary", "cultivation", "manufacturing", "infrastructure"] = Field(
        default="dispensary", title="Facility type", description="Kind of facility."
    )
    safety_call_tree: str | None = Field(
        default=None,
        min_length=1,
        max_length=120,
        title="Safety call tree",
        description=(
            "Call tree (name or id) alerted when a lone worker here misses a check-in and "
            "their timer names no other; without one, timers cannot start."
        ),
    )

    @field_validator("timezone")
    @classmethod
    def verify_timezone(cls, value: str) -> str:
        """Reject time zones the system database does not know."""
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value


class Zone(StrictModel):
    """An area of the site at one protection layer."""

    id: Identifier = Field(title="Zone id", description="Stable identifier.")
    name: str = Field(min_length=1, title="Name", description="Display name.")
    layer: Layer = Field(
        title="Layer", description="perimeter, building, interior, restricted or vault."
    )
    parent: Identifier | None = Field(
        default=None, title="Parent zone", description="Zone this one sits inside."
    )
    area: Rect | None = Field(default=None, title="Plan area", description="Where it is drawn.")
    camera_required: bool = Field(
        default=False,
        title="Camera coverage required",
        description="Whether state rules require continuous camera coverage of this zone.",
    )
    always_armed: bool = Field(
        default=False,
        title="24-hour zone",
        description="Intrusion sensors here are never disarmed (vaults, panic buttons).",
    )
    traversal_s: float = Field(
        default=5.0,
        ge=0,
        title="Traversal time",
        description="Seconds an intruder needs to cross the zone (used by path analysis).",
    )

    @field_validator("layer", mode="before")
    @classmethod
    def _parse_layer(cls, value: object) -> Layer:
        layer = Layer.parse(value)
        if layer is Layer.OUTSIDE:
            raise ValueError("'outside' is implicit; give zones a real layer")
        return layer


class FailMode(StrEnum):
    """What a lock does when it loses power."""

    SECURE = "secure"
    SAFE = "safe"


class DoorKind(StrEnum):
    """Physical kind of an opening controlled as a door."""

    PERSONNEL = "personnel"
    GATE = "gate"
    VEHICLE = "vehicle"
    ROLL_UP = "roll_up"
    VAULT = "vault"
    GLASS = "glass"


class Door(StrictModel):
    """A controlled opening between two zones (or a zone and the outside)."""

    id: Identifier = Field(title="Door id", description="Stable identifier.")
    name: str = Field(min_length=1, title="Name", description="Display name.")
    from_zone: Identifier = Field(
        alias="from", title="From zone", description="Outer side ('outside' for the boundary)."
    )
    to_zone: Identifier = Field(alias="to", title="To zone", description="Inner side.")
    kind: DoorKind = Field(default=DoorKind.PERSONNEL, title="Kind", description="Door type.")
    fail: FailMode = Field(
        default=FailMode.SECURE,
        title="Fail mode",
        description="secure stays locked without power; safe unlocks (egress doors).",
    )
    strike_time_s: float = Field(
        default=5.0, gt=0, le=60, title="Strike time", description="Seconds the strike releases."
    )
    held_open_s: float = Field(
        default=30.0, gt=0, le=3600, title="Held-open limit", description="Seconds before 'held'."
    )
    emergency_egress: bool = Field(
        default=False,
        title="Emergency egress",
        description="Unlocked on a fire alarm so people can get out.",
    )
    position: Point | None = Field(default=None, title="Position", description="Where it is drawn.")
    construction: str = Field(
        default="",
        title="Construction",
        description="Component-library key, e.g. hollow_metal_door, class5_vault_door.",
    )

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class BarrierKind(StrEnum):
    """Uncontrolled path elements an intruder can defeat."""

    FENCE = "fence"
    WALL = "wall"
    WINDOW = "window"
    ROOF = "roof"
    LOADING_DOCK = "loading_dock"
    FLOOR = "floor"
    VENT = "vent"


class Barrier(StrictModel):
    """A wall, fence, window, roof … between two zones; used by path analysis."""

    id: Identifier = Field(title="Barrier id", description="Stable identifier.")
    name: str = Field(min_length=1, title="Name", description="Display name.")
    kind: BarrierKind = Field(title="Kind", description="fence, wall, window, roof …")
    from_zone: Identifier = Field(alias="from", title="From zone", description="Outer side.")
    to_zone: Identifier = Field(alias="to", title="To zone", description="Inner side.")
    construction: str = Field(
        default="",
        title="Construction",
        description="Component-library key, e.g. chain_link_fence, cmu_wall.",
    )

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class DeviceType(StrEnum):
    """Kinds of field device."""

    READER = "reader"
    CONTACT = "contact"
    REX = "rex"
    MOTION = "motion"
    GLASS_BREAK = "glass_break"
    PANIC = "panic"
    ENVIRONMENTAL = "environmental"
    CAMERA = "camera"
    FENCE_SENSOR = "fence_sensor"


class OsdpAddress(StrictModel):
    """Where a reader sits on an OSDP bus."""

    bus: Identifier = Field(default="bus1", title="Bus", description="OSDP bus (port) name.")
    address: int = Field(ge=0, le=126, title="Address", description="PD address 0–126.")
    baud: Literal[9600, 19200, 38400, 57600, 115200, 230400] = Field(
        default=9600, title="Baud rate", description="Line speed of the bus."
    )


class Threshold(StrictModel):
    """An alarm threshold on one measured quantity."""

    quantity: str = Field(min_length=1, title="Quantity", description="e.g. vape_index, sound_db.")
    above: float | None = Field(default=None, title="Above", description="Alarm when higher.")
    below: float | None = Field(default=None, title="Below", description="Alarm when lower.")
    unit: str = Field(default="", title="Unit", description="Unit of the quantity.")

    @model_validator(mode="after")
    def verify_bound(self) -> Threshold:
        """Require at least one bound."""
        if self.above is None and self.below is None:
            raise ValueError("a threshold needs 'above' or 'below'")
        return self


class FieldOfView(StrictModel):
    """A camera's view cone on the plan."""

    position: Point = Field(title="Position", description="Where the camera is mounted.")
    direction_deg: float = Field(
        ge=0,
        lt=360,
        title="Direction",
        description="Bearing of the optical axis, 0 = east, 90 = south.",
    )
    angle_deg: float = Field(gt=0, le=360, title="Angle", description="Horizontal field of view.")
    range_m: float = Field(gt=0, title="Range", description="Useful viewing distance in metres.")


class Device(StrictModel):
    """A field device attached to a door or a zone."""

    id: Identifier = Field(title="Device id", description="Stable identifier.")
    type: DeviceType = Field(title="Type", description="reader, contact, rex, motion, camera …")
    name: str = Field(default="", title="Name", description="Display name.")
    door: Identifier | None = Field(
        default=None,
        title="Door",
        description="Door the device belongs to (readers, contacts, REX).",
    )
    zone: Identifier | None = Field(
        default=None, title="Zone", description="Zone the device watches (motion, panic, sensors)."
    )
    side: Literal["entry", "exit"] | None = Field(
        default=None, title="Reader side", description="Which way a reader admits people."
    )
    osdp: OsdpAddress | None = Field(default=None, title="OSDP", description="Reader bus address.")
    mqtt_topic: str | None = Field(
        default=None, title="MQTT topic", description="Topic the sensor publishes on."
    )
    thresholds: tuple[Threshold, ...] = Field(
        default=(), title="Thresholds", description="Environmental alarm thresholds."
    )
    covers: tuple[Identifier, ...] = Field(
        default=(), title="Covers", description="Zones a camera (or sensor) covers."
    )
    fov: FieldOfView | None = Field(default=None, title="Field of view", description="Camera cone.")
    ptz_presets: tuple[str, ...] = Field(
        default=(), title="PTZ presets", description="Named presets a PTZ camera can go to."
    )
    p_detection: float | None = Field(
        default=None,
        ge=0,
        le=1,
        title="P(detection)",
        description="Tested probability of detection, overriding the component library.",
    )
    snapshot_url: str | None = Field(
        default=None,
        max_length=2000,
        title="Snapshot URL",
        description="Where the camera (or Frigate's /api/<camera>/latest.jpg) serves a still "
        "picture; the server fetches it, the browser never sees the address.",
    )
    stream_url: str | None = Field(
        default=None,
        max_length=2000,
        title="Stream URL",
        description="The camera's live MJPEG (or HLS .m3u8) address over http(s).",
    )

    @field_validator("snapshot_url", "stream_url")
    @classmethod
    def verify_web_address(cls, value: str | None) -> str | None:
        """Accept only http(s) addresses with a host: the server fetches them itself."""
        if value is None:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// address with a host name")
        if parts.fragment:
            raise ValueError("must not carry a #fragment")
        return value.strip()


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ALL_DAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Interval(StrictModel):
    """A daily time window on some weekdays; ``end`` before ``start`` crosses midnight."""

    days: tuple[Weekday, ...] = Field(
        default=ALL_DAYS, min_length=1, title="Days", description="Weekdays it applies to."
    )
    start: dt.time = Field(title="Start", description="Local start time, HH:MM.")
    end: dt.time = Field(title="End", description="Local end time, HH:MM (exclusive).")

    @model_validator(mode="after")
    def verify_not_empty(self) -> Interval:
        """Reject a zero-length window."""
        if self.start == self.end:
            raise ValueError("start and end are equal; use 00:00–23:59 for a full day")
        return self


class Holiday(StrictModel):
    """A dated holiday."""

    date: dt.date = Field(title="Date", description="Calendar date in the site's time zone.")
    name: str = Field(min_length=1, title="Name", description="What it is.")


class HolidaySet(StrictModel):
    """A named list of holidays."""

    id: Identifier = Field(title="Holiday set id", description="Stable identifier.")
    name: str = Field(default="", title="Name", description="Display name.")
    holidays: tuple[Holiday, ...] = Field(default=(), title="Holidays", description="The dates.")


class Schedule(StrictModel):
    """When something applies, in the site's time zone, excluding listed holidays."""

    id: Identifier = Field(title="Schedule id", description="Stable identifier.")
    name: str = Field(min_length=1, title="Name", description="Display name.")
    intervals: tuple[Interval, ...] = Field(
        min_length=1, title="Intervals", description="Weekly time windows."
    )
    holidays: tuple[Identifier, ...] = Field(
        default=(),
        title="Holiday sets",
        description="Holiday sets on which this schedule does not apply.",
    )
    holiday_intervals: tuple[Interval, ...] = Field(
        default=(),
        title="Holiday intervals",
        description="Windows that apply on holidays instead (empty: closed on holidays).",
    )


class Site(StrictModel):
    """A whole facility: the document a site YAML file holds."""

    version: int = Field(
        default=CURRENT_VERSION, title="Format version", description="Site file format version."
    )
    site: SiteInfo = Field(title="Site", description="Identity and locale.")
    zones: tuple[Zone, ...] = Field(min_length=1, title="Zones", description="Areas by layer.")
    doors: tuple[Door, ...] = Field(default=(), title="Doors", description="Controlled openings.")
    barriers: tuple[Barrier, ...] = Field(
        default=(), title="Barriers", description="Walls, fences, windows, roofs …"
    )
    devices: tuple[Device, ...] = Field(default=(), title="Devices", description="Field devices.")
    schedules: tuple[Schedule, ...] = Field(
        default=(), title="Schedules", description="Time plans."
    )
    holiday_sets: tuple[HolidaySet, ...] = Field(
        default=(), title="Holiday sets", description="Named holiday lists."
    )

    @model_validator(mode="after")
    def _verify(self) -> Site:
        for check in (
            verify_version,
            verify_unique_ids,
            verify_zone_refs,
            verify_door_refs,
            verify_device_refs,
            verify_schedule_refs,
        ):
            check(self)
        return self

    # Convenience look-ups (built on demand; the model is frozen and small).
    def zone(self, zone_id: str) -> Zone:
        """Return the zone called ``zone_id`` or raise KeyError."""
        for zone in self.zones:
            if zone.id == zone_id:
                return zone
        raise KeyError(zone_id)

    def door(self, door_id: str) -> Door:
        """Return the door called ``door_id`` or raise KeyError."""
        for door in self.doors:
            if door.id == door_id:
                return door
        raise KeyError(door_id)

    def device(self, device_id: str) -> Device:
        """Return the device called ``device_id`` or raise KeyError."""
        for device in self.devices:
            if device.id == device_id:
                return device
        raise KeyError(device_id)

    def schedule(self, schedule_id: str) -> Schedule:
        """Return the schedule called ``schedule_id`` or raise KeyError."""
        for schedule in self.schedules:
            if schedule.id == schedule_id:
                return schedule
        raise KeyError(schedule_id)

    def devices_of(self, *, door: str | None = None, zone: str | None = None) -> list[Device]:
        """Return the devices attached to a door or watching a zone."""
        return [
            d
            for d in self.devices
            if (door is not None and d.door == door)
            or (zone is not None and (d.zone == zone or zone in d.covers))
        ]


class SiteReferenceError(ValueError):
    """A cross-reference in the site model is wrong; ``field`` is a dotted path."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def verify_version(site: Site) -> None:
    """Only the current format version reaches validation (older ones are migrated)."""
    if site.version != CURRENT_VERSION:
        raise SiteReferenceError("version", f"unsupported version {site.version}")


def verify_unique_ids(site: Site) -> None:
    """Every zone, door, barrier, device, schedule and holiday set has a unique id."""
    groups: dict[str, list[str]] = {
        "zones": [z.id for z in site.zones],
        "doors": [d.id for d in site.doors],
        "barriers": [b.id for b in site.barriers],
        "devices": [d.id for d in site.devices],
        "schedules": [s.id for s in site.schedules],
        "holiday_sets": [h.id for h in site.holiday_sets],
    }
    for group, ids in groups.items():
        for ident, count in Counter(ids).items():
            if count > 1:
                index = ids.index(ident, ids.index(ident) + 1)
                raise SiteReferenceError(f"{group}.{index}.id", f"duplicate id {ident!r}")
    if OUTSIDE in groups["zones"]:
        index = groups["zones"].index(OUTSIDE)
        raise SiteReferenceError(f"zones.{index}.id", "'outside' is reserved")


def verify_zone_refs(site: Site) -> None:
    """Parents exist, are not deeper than their children and form no cycle."""
    zones = {z.id: z for z in site.zones}
    for index, zone in enumerate(site.zones):
        if zone.parent is None:
            continue
        parent = zones.get(zone.parent)
        if parent is None:
            raise SiteReferenceError(f"zones.{index}.parent", f"unknown zone {zone.parent!r}")
        if parent.layer > zone.layer:
            raise SiteReferenceError(
                f"zones.{index}.parent",
                f"parent {parent.id!r} ({parent.layer.name.lower()}) is deeper than "
                f"{zone.id!r} ({zone.layer.name.lower()})",
            )
        seen = {zone.id}
        cursor: Zone | None = parent
        while cursor is not None:
            if cursor.id in seen:
                raise SiteReferenceError(f"zones.{index}.parent", "parent chain forms a cycle")
            seen.add(cursor.id)
            cursor = zones.get(cursor.parent) if cursor.parent else None


def _check_zone(known: set[str], field: str, zone_id: str) -> None:
    if zone_id != OUTSIDE and zone_id not in known:
        raise SiteReferenceError(field, f"unknown zone {zone_id!r}")


def verify_door_refs(site: Site) -> None:
    """Doors and barriers join two different, existing zones."""
    known = {z.id for z in site.zones}
    groups: tuple[tuple[str, tuple[Door | Barrier, ...]], ...] = (
        ("doors", site.doors),
        ("barriers", site.barriers),
    )
    for group, items in groups:
        for index, item in enumerate(items):
            _check_zone(known, f"{group}.{index}.from", item.from_zone)
            _check_zone(known, f"{group}.{index}.to", item.to_zone)
            if item.from_zone == item.to_zone:
                raise SiteReferenceError(f"{group}.{index}.to", "joins a zone to itself")


def verify_device_refs(site: Site) -> None:
    """Devices point at existing doors and zones, with the fields their type needs."""
    doors = {d.id for d in site.doors}
    zones = {z.id for z in site.zones}
    door_types = {DeviceType.READER, DeviceType.CONTACT, DeviceType.REX}
    for index, device in enumerate(site.devices):
        where = f"devices.{index}"
        if device.door is not None and device.door not in doors:
            raise SiteReferenceError(f"{where}.door", f"unknown door {device.door!r}")
        if device.zone is not None and device.zone not in zones:
            raise SiteReferenceError(f"{where}.zone", f"unknown zone {device.zone!r}")
        for cover_index, zone_id in enumerate(device.covers):
            if zone_id not in zones:
                raise SiteReferenceError(
                    f"{where}.covers.{cover_index}", f"unknown zone {zone_id!r}"
                )
        if device.type in door_types and device.door is None:
            raise SiteReferenceError(f"{where}.door", f"a {device.type.value} needs a door")
        if (
            device.type not in door_types
            and device.type is not DeviceType.CAMERA
            and device.zone is None
        ):
            raise SiteReferenceError(f"{where}.zone", f"a {device.type.value} needs a zone")
        if device.osdp is not None and device.type is not DeviceType.READER:
            raise SiteReferenceError(f"{where}.osdp", "only readers sit on an OSDP bus")
        if device.thresholds and device.type is not DeviceType.ENVIRONMENTAL:
            raise SiteReferenceError(
                f"{where}.thresholds", "only environmental sensors have thresholds"
            )
        for name in ("snapshot_url", "stream_url"):
            if getattr(device, name) and device.type is not DeviceType.CAMERA:
                raise SiteReferenceError(f"{where}.{name}", "only a camera has a picture address")
        if device.type is DeviceType.CAMERA and not device.covers and device.fov is None:
            raise SiteReferenceError(
                f"{where}.covers", "a camera must cover a zone or have a field of view"
            )
    seen: dict[tuple[str, int], int] = {}
    for index, device in enumerate(site.devices):
        if device.osdp is None:
            continue
        key = (device.osdp.bus, device.osdp.address)
        if key in seen:
            raise SiteReferenceError(
                f"devices.{index}.osdp.address",
                f"address {key[1]} on bus {key[0]!r} is already used by devices.{seen[key]}",
            )
        seen[key] = index


def verify_schedule_refs(site: Site) -> None:
    """Schedules name existing holiday sets."""
    sets = {h.id for h in site.holiday_sets}
    for index, schedule in enumerate(site.schedules):
        for hol_index, set_id in enumerate(schedule.holidays):
            if set_id not in sets:
                raise SiteReferenceError(
                    f"schedules.{index}.holidays.{hol_index}", f"unknown holiday set {set_id!r}"
                )

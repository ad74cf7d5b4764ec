"""Positions from real tracker clients, and the filter that keeps bad fixes out of the watch.

Two client protocols are read:

* **OwnTracks** (phone app, JSON over MQTT on ``owntracks/<user>/<device>``):
  ``_type: location`` with ``lat``, ``lon``, ``tst`` (epoch seconds), ``acc`` (m),
  ``vel`` (km/h), ``batt`` (%); ``_type: transition`` (region enter/leave; a region
  whose description contains "panic" is the driver's panic button).
* **OsmAnd / Traccar Client** (HTTP GET or form POST): ``id``, ``lat``, ``lon`` (or
  ``location=lat,lon``), ``timestamp`` (epoch seconds or milliseconds, or ISO 8601),
  ``speed`` (knots, as the protocol defines it), ``bearing``/``heading``, ``accuracy``,
  ``batt``, and ``alarm=sos`` for the panic button.

The device id is ``<user>/<device>`` for OwnTracks and the ``id`` parameter for OsmAnd.
Nothing here raises on bad input: a parse returns a :class:`Reject` with a reason, which
the runtime counts and logs. The :class:`FixFilter` then refuses duplicates, out-of-order
and future fixes and impossible jumps (> 300 km/h), and marks low-accuracy fixes so the
watch never judges a deviation on them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from bastion.transport.geometry import metres_between

KNOTS_TO_KMH = 1.852
MAX_SPEED_KMH = 300.0
LOW_ACCURACY_M = 100.0
FUTURE_TOLERANCE = timedelta(minutes=2)
STALE_AFTER = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Fix:
    """One position report from a tracker, in UTC."""

    device: str
    at: datetime
    lat: float
    lon: float
    speed_kmh: float | None = None
    accuracy_m: float | None = None
    battery: int | None = None
    source: str = "osmand"
    low_accuracy: bool = False


@dataclass(frozen=True, slots=True)
class Signal:
    """A non-position report from a tracker: the panic button, a region enter/leave."""

    device: str
    at: datetime
    kind: str  # "panic" | "enter" | "leave"
    region: str = ""
    source: str = "owntracks"


@dataclass(frozen=True, slots=True)
class Reject:
    """A report that was refused, and why (in words an operator can act on)."""

    reason: str
    detail: str
    device: str | None = None


Parsed = Fix | Signal | Reject


def _number(value: object) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _time(value: object) -> datetime | None:
    """Read epoch seconds, epoch milliseconds or ISO 8601 into an aware UTC time."""
    number = _number(value)
    if number is not None:
        if number > 1e11:  # milliseconds
            number /= 1000.0
        if number <= 0:
            return None
        try:
            return datetime.fromtimestamp(number, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return None


def _coords(lat: object, lon: object, device: str) -> tuple[float, float] | Reject:
    la, lo = _number(lat), _number(lon)
    if la is None or lo is None:
        return Reject("missing_position", "lat and lon must both be numbers", device)
    if not (-90 <= la <= 90 and -180 <= lo <= 180):
        return Reject("bad_position", f"lat {la}, lon {lo} is not on the Earth", device)
    if la == 0 and lo == 0:
        return Reject("bad_position", "lat 0, lon 0 is a tracker without a fix", device)
    return la, lo


def _battery(value: object) -> int | None:
    number = _number(value)
    return None if number is None else max(0, min(100, round(number)))


def parse_owntracks(topic: str, payload: bytes | str, *, base: str = "owntracks") -> Parsed:
    """Read one OwnTracks MQTT message (topic ``owntracks/<user>/<device>``)."""
    head, _, rest = topic.partition(base + "/")
    parts = rest.split("/")
    if head or len(parts) != 2 or not parts[0] or not parts[1]:
        return Reject("bad_topic", f"topic {topic!r} is not {base}/<user>/<device>")
    device = f"{parts[0]}/{parts[1]}"
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        return Reject("malformed", f"the message is not JSON ({exc.__class__.__name__})", device)
    if not isinstance(data, dict):
        return Reject("malformed", "the message is not a JSON object", device)
    kind = data.get("_type")
    at = _time(data.get("tst"))
    if kind == "transition":
        if at is None:
            return Reject("missing_timestamp", "tst is missing or not a time", device)
        event = str(data.get("event", ""))
        region = str(data.get("desc", ""))[:120]
        if "panic" in region.lower():
            return Signal(device, at, "panic", region, "owntracks")
        if event not in ("enter", "leave"):
            return Reject("malformed", "a transition needs event enter or leave", device)
        return Signal(device, at, event, region, "owntracks")
    if kind != "location":
        return Reject("ignored_type", f"message type {kind!r} carries no position", device)
    if at is None:
        return Reject("missing_timestamp", "tst is missing or not a time", device)
    coords = _coords(data.get("lat"), data.get("lon"), device)
    if isinstance(coords, Reject):
        return coords
    return Fix(
        device=device,
        at=at,
        lat=coords[0],
        lon=coords[1],
        speed_kmh=_number(data.get("vel")),
        accuracy_m=_number(data.get("acc")),
        battery=_battery(data.get("batt")),
        source="owntracks",
    )


def parse_osmand(params: Mapping[str, str]) -> Parsed:
    """Read one OsmAnd / Traccar Client report from its query or form parameters."""
    device = (params.get("id") or params.get("deviceid") or "").strip()
    if not device:
        return Reject("missing_device", "the report has no id (the tracker's identifier)")
    if len(device) > 128:
        return Reject("bad_device", "the tracker id is over 128 characters")
    lat: object = params.get("lat")
    lon: object = params.get("lon")
    location = params.get("location")
    if (lat is None or lon is None) and location:
        lat, _, lon = location.partition(",")
    coords = _coords(lat, lon, device)
    if isinstance(coords, Reject):
        return coords
    at = _time(params.get("timestamp"))
    if at is None:
        return Reject("missing_timestamp", "timestamp is missing or not a time", device)
    if (params.get("alarm") or "").strip().lower() in ("sos", "panic"):
        return Signal(device, at, "panic", "", "osmand")
    knots = _number(params.get("speed"))
    return Fix(
        device=device,
        at=at,
        lat=coords[0],
        lon=coords[1],
        speed_kmh=None if knots is None else knots * KNOTS_TO_KMH,
        accuracy_m=_number(params.get("accuracy") or params.get("hdop")),
        battery=_battery(params.get("batt") or params.get("batteryLevel")),
        source="osmand",
    )


def parse_traccar_json(body: bytes) -> Parsed:
    """Read the JSON body newer Traccar Client versions POST (``device_id`` + ``location``)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return Reject("malformed", "the body is not JSON")
    if not isinstance(data, dict) or not isinstance(data.get("location"), dict):
        return Reject("malformed", "the body needs device_id and a location object")
    location = data["location"]
    coords = location.get("coords") if isinstance(location.get("coords"), dict) else {}
    battery = location.get("battery") if isinstance(location.get("battery"), dict) else {}
    level = _number(battery.get("level"))
    params = {
        "id": str(data.get("device_id", "")),
        "lat": str(coords.get("latitude", "")),
        "lon": str(coords.get("longitude", "")),
        "timestamp": str(location.get("timestamp", "")),
        "accuracy": str(coords.get("accuracy", "")),
        "batt": "" if level is None else str(level * 100 if level <= 1 else level),
    }
    speed_ms = _number(coords.get("speed"))
    if speed_ms is not None and speed_ms >= 0:
        params["speed"] = str(speed_ms * 3.6 / KNOTS_TO_KMH)
    return parse_osmand(params)


@dataclass
class _Last:
    fix: Fix
    suspect: Fix | None = None


class FixFilter:
    """Refuse fixes that would mislead the watch; remember each device's last good fix.

    A jump faster than 300 km/h from the last good fix is refused; if the next fix agrees
    with the refused one rather than the old position, the tracker really moved (it was
    off, or the old fix was the bad one) and the new fix is accepted.
    """

    def __init__(self) -> None:
        self._last: dict[str, _Last] = {}

    def forget(self, device: str) -> None:
        """Drop a device's history (a new trip starts from scratch)."""
        self._last.pop(device, None)

    def check(self, fix: Fix, now: datetime) -> Fix | Reject:
        """Return the fix (maybe marked low-accuracy) or the reason it is refused."""
        if fix.at > now + FUTURE_TOLERANCE:
            return Reject(
                "future_timestamp",
                f"the fix is dated {fix.at:%Y-%m-%d %H:%M:%S} UTC, in the future",
                fix.device,
            )
        if fix.at < now - STALE_AFTER:
            return Reject("stale_timestamp", "the fix is more than a day old", fix.device)
        if fix.accuracy_m is not None and fix.accuracy_m > LOW_ACCURACY_M:
            fix = replace(fix, low_accuracy=True)
        last = self._last.get(fix.device)
        if last is None:
            self._last[fix.device] = _Last(fix)
            return fix
        previous = last.fix
        if fix.at == previous.at:
            return Reject("duplicate", "a fix with this timestamp was already received", fix.device)
        if fix.at < previous.at:
            return Reject("out_of_order", "the fix is older than one already received", fix.device)
        if _speed_kmh(previous, fix) > MAX_SPEED_KMH:
            suspect = last.suspect
            if (
                suspect is not None
                and fix.at > suspect.at
                and _speed_kmh(suspect, fix) <= MAX_SPEED_KMH
            ):
                self._last[fix.device] = _Last(fix)
                return fix
            last.suspect = fix
            return Reject(
                "impossible_jump", f"the fix implies more than {MAX_SPEED_KMH:.0f} km/h", fix.device
            )
        if not fix.low_accuracy:
            self._last[fix.device] = _Last(fix)
        return fix


def _speed_kmh(a: Fix, b: Fix) -> float:
    seconds = abs((b.at - a.at).total_seconds())
    metres = metres_between((a.lon, a.lat), (b.lon, b.lat))
    if seconds < 1:
        return 0.0 if metres < 50 else math.inf
    return metres / seconds * 3.6

"""Sensor logic without a broker: parse payloads, supervise availability, debounce restarts.

:class:`SensorBoard` turns ``(topic, payload)`` into typed outputs and, on
:meth:`SensorBoard.check`, into supervision outputs: link reports (``device.status``: down
after N s without a message or on last-will, up when it talks again) that the
device-health tracker judges, and settle-window releases. It reads time only from the
clock it is given, so tests drive it with a frozen clock.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

from bastion.core.clock import Clock
from bastion.core.events import (
    EVENT_DEVICE_STATUS,
    EVENT_DOOR_FORCED,
    EVENT_DOOR_HELD,
    EVENT_DOOR_STATE,
    EVENT_SENSOR_READING,
    EVENT_SENSOR_STATE,
    DeviceStatusPayload,
    DoorPayload,
    EventType,
    Payload,
    SensorReadingPayload,
    SensorStatePayload,
)
from bastion.integrations.payloads import BadPayload, loads
from bastion.site.schemas import Device, DeviceType, Site

_LOGGER = logging.getLogger(__name__)

ACTIVE_WORDS = {"on", "active", "open", "1", "true", "detected", "pressed", "alarm"}
INACTIVE_WORDS = {"off", "inactive", "closed", "0", "false", "clear", "idle", "released"}
UNAVAILABLE_WORDS = {"offline", "unavailable", "lost", "dead"}
ONLINE_WORDS = {"online", "available", "alive"}
DOOR_WORDS = {"open", "closed", "forced", "held"}
VALUE_RANGES: dict[str, tuple[float, float]] = {
    "vape_index": (0, 100),
    "sound_db": (0, 194),
    "pm2_5": (0, 1000),
    "pm10": (0, 2000),
    "aqi": (0, 500),
    "co2_ppm": (0, 40000),
    "tvoc_ppb": (0, 60000),
    "temperature_c": (-60, 125),
    "humidity_pct": (0, 100),
    "aggression_score": (0, 1),
    "keyword_score": (0, 1),
}
"""The quantities we know, with their physically plausible ranges; readings outside are
rejected as sensor faults. A device may also report the quantities its thresholds name."""
DEFAULT_RANGE = (-1e6, 1e6)
MAX_WARNED = 1000
"""Distinct (source, problem) pairs remembered for warn-once; then one pair per problem."""
INTRUSION = {DeviceType.MOTION, DeviceType.CONTACT, DeviceType.GLASS_BREAK, DeviceType.FENCE_SENSOR}
SENSOR_TYPES = INTRUSION | {DeviceType.PANIC, DeviceType.ENVIRONMENTAL}


@dataclass(frozen=True)
class Output:
    """One event to publish: type, payload and the device it is about."""

    event_type: EventType[Any]
    payload: Payload
    device_id: str


@dataclass
class _Tracker:
    device: Device
    status: str = "unknown"  # unknown → online ⇄ unavailable → offline
    last_seen: float | None = None
    unavailable_since: float | None = None
    settle_until: float | None = None
    held: Output | None = None
    last_state: str | None = None


@dataclass
class SensorBoard:
    """Parse sensor messages of one site and supervise the sensors that report."""

    site: Site
    prefix: str
    clock: Clock
    offline_after_s: float = 60.0
    debounce_s: float = 3.0
    max_payload_bytes: int = 4096
    trackers: dict[str, _Tracker] = field(default_factory=dict)
    topics: dict[str, str] = field(default_factory=dict)
    warned: set[tuple[str, str]] = field(default_factory=set)
    rejected: int = 0

    def __post_init__(self) -> None:
        self.prefix = self.prefix.rstrip("/")
        for device in self.site.devices:
            if device.type in SENSOR_TYPES:
                self.trackers[device.id] = _Tracker(device)
                self.topics[f"{self.prefix}/{device.id}"] = device.id
                if device.mqtt_topic:
                    self.topics[device.mqtt_topic.rstrip("/")] = device.id

    def subscriptions(self) -> list[str]:
        """Return the topic filters to subscribe to."""
        extra = sorted({t for t in self.topics if not t.startswith(self.prefix + "/")})
        return [f"{self.prefix}/#", *extra, *(f"{t}/#" for t in extra)]

    # -- warnings ----------------------------------------------------------------------------

    def _warn(self, key: str, kind: str, message: str, *args: Any) -> None:
        """Log the first occurrence of each (source, problem) pair; count every one."""
        self.rejected += 1
        # A flood of made-up topics must not grow this set (nor the log) without end.
        pair = (key[:64] if len(self.warned) < MAX_WARNED else "*", kind)
        if pair in self.warned:
            _LOGGER.debug(message, *args)
            return
        self.warned.add(pair)
        _LOGGER.warning("%s (further ones are not logged)", message % args)

    # -- messages ----------------------------------------------------------------------------

    def _resolve(self, topic: str) -> tuple[str | None, str]:
        topic = topic.rstrip("/")
        if topic in self.topics:
            return self.topics[topic], "state"
        head, _, tail = topic.rpartition("/")
        if tail in ("state", "availability", "status") and head in self.topics:
            return self.topics[head], "availability" if tail != "state" else "state"
        if head in self.topics:
            return None, "unknown-subtopic"
        if topic.startswith(self.prefix + "/"):
            rest = topic[len(self.prefix) + 1 :].split("/")
            return None, rest[0]
        return None, topic

    def on_message(self, topic: str, payload: bytes) -> list[Output]:
        """Handle one message; bad input yields a single warning and no output."""
        if len(payload) > self.max_payload_bytes:
            self._warn(
                topic,
                "oversized",
                "MQTT payload on %s is %d bytes (limit %d); dropped",
                _short(topic),
                len(payload),
                self.max_payload_bytes,
            )
            return []
        device_id, part = self._resolve(topic)
        if device_id is None:
            self._warn(
                part,
                "unknown",
                "MQTT message for unknown sensor %r on %s; ignored",
                _short(part),
                _short(topic),
            )
            return []
        try:
            return self._on_sensor_message(device_id, part, payload)
        except (ArithmeticError, RecursionError, ValueError) as exc:
            # The checks below are meant to catch everything; this keeps a gap among them
            # a rejected message, rather than an exception in the connection's loop.
            self._warn(
                device_id,
                "unprocessable",
                "MQTT payload from %s could not be processed (%s); dropped",
                device_id,
                type(exc).__name__,
            )
            return []

    def _on_sensor_message(self, device_id: str, part: str, payload: bytes) -> list[Output]:
        tracker = self.trackers[device_id]
        try:
            text = payload.decode("utf-8").strip()
        except UnicodeDecodeError:
            self._warn(
                device_id, "encoding", "MQTT payload from %s is not UTF-8; dropped", device_id
            )
            return []
        now = self.clock.monotonic()
        if part == "availability":
            word = text.lower()
            if word in UNAVAILABLE_WORDS:
                return self._unavailable(tracker, now, "last will / availability: offline")
            if word in ONLINE_WORDS:
                return self._seen(tracker, now)
            self._warn(
                device_id,
                "availability",
                "unknown availability %r from %s; ignored",
                text[:40],
                device_id,
            )
            return []
        if text.lower() in UNAVAILABLE_WORDS:
            return self._unavailable(tracker, now, f"reported {text.lower()}")
        data: Any = text
        if text[:1] in "{[":
            try:
                data = loads(text)
            except BadPayload as exc:
                self._warn(device_id, "json", "bad JSON from %s: %s; dropped", device_id, exc)
                return []
        outputs = self._seen(tracker, now)
        if isinstance(data, dict) and data.get("heartbeat") and len(data) == 1:
            return outputs
        if isinstance(data, str) and data.lower() == "heartbeat":
            return outputs
        parsed = self._parse(tracker, data)
        if parsed is None:
            return outputs
        for out in parsed:
            outputs.extend(self._debounce(tracker, out, now))
        return outputs

    def _parse(self, tracker: _Tracker, data: Any) -> list[Output] | None:
        device = tracker.device
        if device.type is DeviceType.ENVIRONMENTAL:
            return self._readings(device, data)
        if isinstance(data, dict):
            data = data.get("state", data.get("value"))
        if isinstance(data, bool | int | float) and not isinstance(data, str):
            word = "on" if data else "off"
        elif isinstance(data, str):
            word = data.strip().lower()
        else:
            self._warn(device.id, "shape", "unexpected payload shape from %s; dropped", device.id)
            return None
        if device.type is DeviceType.CONTACT and device.door is not None:
            if word not in DOOR_WORDS | ACTIVE_WORDS | INACTIVE_WORDS:
                self._warn(
                    device.id,
                    "state",
                    "unknown door state %r from %s; dropped",
                    word[:40],
                    device.id,
                )
                return None
            return [self._door(device, word)]
        if word in ACTIVE_WORDS:
            state = "active"
        elif word in INACTIVE_WORDS:
            state = "inactive"
        else:
            self._warn(
                device.id, "state", "unknown state %r from %s; dropped", word[:40], device.id
            )
            return None
        return [
            Output(
                EVENT_SENSOR_STATE,
                SensorStatePayload(
                    device_id=device.id,
                    sensor_type=device.type.value,
                    state=state,
                    zone_id=device.zone,
                ),
                device.id,
            )
        ]

    def _door(self, device: Device, word: str) -> Output:
        door = self.site.door(device.door or "")
        state = word if word in ("forced", "held") else "open" if word in ACTIVE_WORDS else "closed"
        event_type = {"forced": EVENT_DOOR_FORCED, "held": EVENT_DOOR_HELD}.get(
            state, EVENT_DOOR_STATE
        )
        return Output(
            event_type,
            DoorPayload(door_id=door.id, state=state, zone_id=door.to_zone),
            device.id,
        )

    def _readings(self, device: Device, data: Any) -> list[Output] | None:
        if isinstance(data, dict) and "quantity" in data and "value" in data:
            data = {str(data["quantity"]): data["value"]}
        if not isinstance(data, dict):
            self._warn(
                device.id,
                "shape",
                "environmental payload from %s is not an object; dropped",
                device.id,
            )
            return None
        units = {t.quantity: t.unit for t in device.thresholds}
        outputs: list[Output] = []
        for quantity, value in data.items():
            if quantity in ("heartbeat", "time", "ts", "battery"):
                continue
            if quantity not in units and quantity not in VALUE_RANGES:
                self._warn(
                    device.id,
                    "quantity",
                    "unknown quantity %r from %s (not in the site model); dropped",
                    _short(str(quantity)),
                    device.id,
                )
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                self._warn(
                    device.id,
                    f"value:{quantity}",
                    "non-numeric %s from %s; dropped",
                    quantity,
                    device.id,
                )
                continue
            low, high = VALUE_RANGES.get(quantity, DEFAULT_RANGE)
            if not math.isfinite(value) or not low <= value <= high:
                self._warn(
                    device.id,
                    f"range:{quantity}",
                    "%s=%r from %s is outside %g..%g; dropped",
                    quantity,
                    value,
                    device.id,
                    low,
                    high,
                )
                continue
            outputs.append(
                Output(
                    EVENT_SENSOR_READING,
                    SensorReadingPayload(
                        device_id=device.id,
                        quantity=quantity,
                        value=float(value),
                        unit=units.get(quantity, ""),
                    ),
                    device.id,
                )
            )
        return outputs

    # -- supervision -------------------------------------------------------------------------

    def _link(self, tracker: _Tracker, online: bool, detail: str) -> Output:
        """Report the sensor's link for the device-health tracker to judge."""
        return Output(
            EVENT_DEVICE_STATUS,
            DeviceStatusPayload(
                device_id=tracker.device.id, kind="sensor", online=online, detail=detail
            ),
            tracker.device.id,
        )

    def _seen(self, tracker: _Tracker, now: float) -> list[Output]:
        outputs: list[Output] = []
        previous = tracker.status
        tracker.last_seen = now
        tracker.status = "online"
        if previous in ("unavailable", "offline"):
            tracker.unavailable_since = None
            tracker.settle_until = now + self.debounce_s
            outputs.append(self._link(tracker, True, f"back after {previous}"))
        elif previous == "unknown":
            outputs.append(self._link(tracker, True, "reporting"))
        return outputs

    def _unavailable(self, tracker: _Tracker, now: float, detail: str) -> list[Output]:
        if tracker.status in ("unavailable", "offline"):
            return []
        tracker.status = "unavailable"
        tracker.unavailable_since = now
        tracker.held = None
        return [self._link(tracker, False, f"unavailable ({detail})")]

    def _debounce(self, tracker: _Tracker, out: Output, now: float) -> list[Output]:
        """Hold intrusion activations inside the settle window after a restart.

        Panic buttons are exempt: they are momentary, and holding a press until the
        release arrives would swallow it.
        """
        settling = tracker.settle_until is not None and now < tracker.settle_until
        if tracker.device.type not in INTRUSION or not settling:
            released = self._release(tracker, now)
            return [*released, out]
        payload = out.payload
        active = (isinstance(payload, SensorStatePayload) and payload.state == "active") or (
            isinstance(payload, DoorPayload) and payload.state in ("open", "forced", "held")
        )
        if active:
            tracker.held = out  # released by check() if still true when the window ends
            return []
        tracker.held = None
        return [out]

    def _release(self, tracker: _Tracker, now: float) -> list[Output]:
        if tracker.settle_until is None or now < tracker.settle_until:
            return []
        tracker.settle_until = None
        held, tracker.held = tracker.held, None
        return [held] if held is not None else []

    def check(self) -> list[Output]:
        """Return supervision outputs due now: offline timeouts and settle-window releases."""
        now = self.clock.monotonic()
        outputs: list[Output] = []
        for tracker in self.trackers.values():
            outputs.extend(self._release(tracker, now))
            if tracker.status == "online" and tracker.last_seen is not None:
                silent = now - tracker.last_seen
            elif tracker.status == "unavailable" and tracker.unavailable_since is not None:
                silent = now - tracker.unavailable_since
            else:
                continue
            if silent < self.offline_after_s:
                continue
            if tracker.status == "online":  # an unavailable sensor was reported down already
                detail = f"no message for {self.offline_after_s:g} s"
                outputs.append(self._link(tracker, False, detail))
            tracker.status = "offline"
        return outputs

    def status(self, device_id: str) -> str:
        """Return the supervision status of a sensor."""
        return self.trackers[device_id].status


def _short(text: str, limit: int = 80) -> str:
    """Return ``text`` cut for a log line (a topic or id from a device can be huge)."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"

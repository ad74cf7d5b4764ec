"""Frigate's MQTT contract (frigate/events, frigate/reviews, frigate/available) → typed outputs.

Pure logic, no broker: :class:`FrigateTranslator` keys tracked objects by ``after.id``,
drops false positives, treats the entry into a loitering zone as the loitering alert
(Frigate only lists the zone in ``entered_zones`` after ``loitering_time``), and reports a
vehicle that stays ``stationary`` in a vehicle zone for ``stationary_s`` seconds.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

from bastion.core.events import (
    EVENT_DEVICE_HEALTH,
    EVENT_VIDEO_DETECTION,
    DeviceHealthPayload,
    EventType,
    Payload,
    VideoDetectionPayload,
)
from bastion.integrations.payloads import BadPayload, loads

_LOGGER = logging.getLogger(__name__)
VEHICLE_LABELS = frozenset({"car", "truck", "motorcycle", "bus", "van"})
MAX_ID = 64
"""Longest camera name or object id accepted from Frigate (its own are far shorter)."""
AVAILABILITY = frozenset({"online", "offline", "stopped"})


@dataclass(frozen=True)
class FrigateOutput:
    """One event to publish."""

    event_type: EventType[Any]
    payload: Payload


@dataclass
class FrigateTranslator:
    """Translate Frigate messages into video detections and health changes."""

    cameras: dict[str, str]
    zones: dict[str, str]
    loitering_zones: frozenset[str]
    vehicle_zones: frozenset[str]
    stationary_s: float = 30.0
    max_payload_bytes: int = 65536
    health_device: str = "frigate"
    reported: set[tuple[str, str]] = field(default_factory=set)
    warned: set[str] = field(default_factory=set)
    rejected: int = 0
    available: str | None = None

    def _warn(self, kind: str, message: str, *args: Any) -> None:
        self.rejected += 1
        if kind in self.warned:
            return
        self.warned.add(kind)
        _LOGGER.warning("%s (further ones are not logged)", message % args)

    def camera(self, name: str) -> str:
        """Return our camera id for a Frigate camera name (it must be known)."""
        return self.cameras[name]

    def on_message(
        self, topic: str, payload: bytes, prefix: str = "frigate"
    ) -> list[FrigateOutput]:
        """Handle one message from the Frigate topic tree; bad input is counted and dropped."""
        if len(payload) > self.max_payload_bytes:
            self._warn(
                "oversized", "Frigate payload on %s is %d bytes; dropped", topic, len(payload)
            )
            return []
        sub = topic[len(prefix) + 1 :] if topic.startswith(prefix + "/") else topic
        if sub == "available":
            return self._available(payload.decode("utf-8", "replace").strip().lower())
        if sub not in ("events", "reviews"):
            return []
        try:
            return self._message(sub, payload)
        except (ArithmeticError, RecursionError, ValueError) as exc:
            # The checks below are meant to catch everything; this keeps a gap among them
            # a rejected message, rather than an exception in the connection's loop.
            self._warn(
                f"unprocessable:{sub}",
                "frigate/%s message could not be processed (%s); dropped",
                sub,
                type(exc).__name__,
            )
            return []

    def _message(self, sub: str, payload: bytes) -> list[FrigateOutput]:
        try:
            message = loads(payload)
        except BadPayload as exc:
            self._warn(f"json:{sub}", "bad JSON on frigate/%s: %s; dropped", sub, exc)
            return []
        after = message.get("after") if isinstance(message, dict) else None
        if not isinstance(after, dict) or not isinstance(after.get("camera"), str):
            self._warn(f"shape:{sub}", "frigate/%s message without 'after.camera'; dropped", sub)
            return []
        name = after["camera"]
        if len(name) > MAX_ID or name not in self.cameras:
            shown = name if len(name) <= MAX_ID else f"{name[:MAX_ID]}… ({len(name)} characters)"
            self._warn(
                f"camera:{sub}",
                "frigate/%s names camera %r, which is not in the site model; dropped",
                sub,
                shown,
            )
            return []
        before = message.get("before") if isinstance(message.get("before"), dict) else {}
        if sub == "events":
            return self._event(after, before)
        return self._review(after)

    def _available(self, word: str) -> list[FrigateOutput]:
        if word not in AVAILABILITY:
            self._warn("available", "frigate/available says %r; ignored", word[:40])
            return []
        if word == self.available:
            return []
        previous, self.available = self.available, word
        if word in ("offline", "stopped"):
            status = "offline"
        elif word == "online" and previous in ("offline", "stopped"):
            status = "restored"
        else:
            return []
        return [
            FrigateOutput(
                EVENT_DEVICE_HEALTH,
                DeviceHealthPayload(
                    device_id=self.health_device, status=status, detail=f"frigate/available {word}"
                ),
            )
        ]

    def _detection(
        self, kind: str, after: dict[str, Any], frigate_zone: str, source_id: str
    ) -> list[FrigateOutput]:
        key = (source_id, kind)
        if key in self.reported:
            return []
        self.reported.add(key)
        if len(self.reported) > 50_000:
            self.reported.clear()
        score = after.get("top_score") or after.get("score")
        return [
            FrigateOutput(
                EVENT_VIDEO_DETECTION,
                VideoDetectionPayload(
                    camera_id=self.camera(after["camera"]),
                    kind=kind,
                    label=str(after.get("label") or "object")[:32],
                    zone_id=self.zones.get(frigate_zone),
                    source_zones=(frigate_zone,),
                    source_id=source_id,
                    score=_number(score),
                ),
            )
        ]

    def _event(self, after: dict[str, Any], before: dict[str, Any]) -> list[FrigateOutput]:
        if after.get("false_positive"):
            return []
        object_id = after.get("id")
        if not isinstance(object_id, str) or not 0 < len(object_id) <= MAX_ID:
            self._warn("shape:id", "frigate/events message without a usable 'after.id'; dropped")
            return []
        entered = set(_strings(after.get("entered_zones"))) - set(
            _strings(before.get("entered_zones"))
        )
        outputs: list[FrigateOutput] = []
        for zone in sorted(entered & self.loitering_zones):
            outputs += self._detection("loitering", after, zone, object_id)
        label = str(after.get("label") or "")
        if label in VEHICLE_LABELS and after.get("stationary"):
            still = _still_for(after)
            current = sorted(set(_strings(after.get("current_zones"))) & self.vehicle_zones)
            if current and still is not None and still >= self.stationary_s:
                outputs += self._detection("stationary_vehicle", after, current[0], object_id)
        return outputs

    def _review(self, after: dict[str, Any]) -> list[FrigateOutput]:
        if after.get("severity") != "alert":
            return []
        raw = after.get("data")
        data: dict[str, Any] = raw if isinstance(raw, dict) else {}
        zones = sorted(set(_strings(data.get("zones"))) & self.loitering_zones)
        detections = _strings(data.get("detections"))
        if not zones or any((d, "loitering") in self.reported for d in detections):
            return []
        objects = _strings(data.get("objects"))
        enriched = {**after, "label": objects[0] if objects else "person"}
        review_id = after.get("id")
        if not isinstance(review_id, str) or not 0 < len(review_id) <= MAX_ID:
            self._warn("shape:review", "frigate/reviews message without a usable id; dropped")
            return []
        return self._detection("loitering", enriched, zones[0], review_id)


def _strings(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, str)]
    return []


def _number(value: Any) -> float | None:
    """Return ``value`` as a float when it is a finite number (booleans are not), else None."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _still_for(after: dict[str, Any]) -> float | None:
    """Return for how long the object has been stationary, in seconds, when Frigate says."""
    frame, start = _number(after.get("frame_time")), _number(after.get("start_time"))
    motionless, fps = _number(after.get("motionless_count")), _number(after.get("fps"))
    if motionless is not None and fps is not None and fps > 0:
        return motionless / fps
    if frame is not None and start is not None:
        return frame - start
    return None

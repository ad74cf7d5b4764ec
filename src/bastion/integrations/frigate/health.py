"""Camera health from Frigate: per-role status topics and the stats payload → link reports.

Frigate publishes ``<prefix>/<camera>/status/<role>`` (``online`` / ``offline`` per ffmpeg
role: detect, record, audio) and, every ``stats_interval``, ``<prefix>/stats`` — the same
JSON its ``/api/stats`` endpoint serves — with each camera's ``camera_fps``,
``process_fps``, ``skipped_fps`` and ``detection_fps``. :class:`CameraHealth` turns them
into raw ``device.status`` reports (kind ``camera``): a role offline makes the camera
offline (``record`` offline is a recording gap in the making), a camera that delivers no
frames or skips most of them is *degraded*. No debouncing here: the status flaps while
Frigate's watchdog restarts ffmpeg, and the device-health tracker judges grace periods
and flapping for every kind of device alike. A stats payload missing its fields is one
warning and no report (health stays as it was: unknown, never "fine").
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

from bastion.core.events import EVENT_DEVICE_STATUS, DeviceStatusPayload
from bastion.integrations.frigate.events import FrigateOutput
from bastion.integrations.payloads import BadPayload, loads

_LOGGER = logging.getLogger(__name__)
ROLES = frozenset({"detect", "record", "audio"})
STATUS_WORDS = {"online": True, "offline": False}


@dataclass(frozen=True)
class StatsThresholds:
    """When a camera that still answers counts as degraded."""

    min_camera_fps: float = 1.0
    max_skipped_share: float = 0.5


@dataclass
class _Camera:
    roles: dict[str, bool] = field(default_factory=dict)
    problem: str | None = None
    reported: tuple[bool, bool, tuple[str, ...]] | None = None


@dataclass
class CameraHealth:
    """Per-camera role states and stats, reported as link changes (our camera ids)."""

    cameras: dict[str, str]
    thresholds: StatsThresholds = field(default_factory=StatsThresholds)
    warned: set[str] = field(default_factory=set)
    rejected: int = 0
    _state: dict[str, _Camera] = field(default_factory=dict)

    def _warn(self, kind: str, message: str, *args: Any) -> None:
        self.rejected += 1
        if kind not in self.warned:
            self.warned.add(kind)
            _LOGGER.warning("%s (further ones are not logged)", message % args)

    def on_status(self, name: str, role: str, word: str) -> list[FrigateOutput]:
        """Handle ``<prefix>/<camera>/status/<role>``."""
        if name not in self.cameras:
            self._warn("status:camera", "frigate status for unknown camera %r; ignored", name[:64])
            return []
        online = STATUS_WORDS.get(word.strip().lower())
        if role not in ROLES or online is None:
            self._warn(
                "status:word", "frigate status %r for role %r; ignored", word[:20], role[:20]
            )
            return []
        camera = self._state.setdefault(name, _Camera())
        camera.roles[role] = online
        return self._report(name, camera)

    def on_stats(self, payload: bytes | dict[str, Any]) -> list[FrigateOutput]:
        """Handle a stats payload (MQTT ``<prefix>/stats`` or the body of ``/api/stats``)."""
        if isinstance(payload, bytes | bytearray):
            try:
                data = loads(bytes(payload))
            except BadPayload as exc:
                self._warn("stats:json", "bad JSON in frigate stats: %s; ignored", exc)
                return []
        else:
            data = payload
        if not isinstance(data, dict):
            self._warn("stats:shape", "frigate stats is not an object; ignored")
            return []
        block = data.get("cameras")
        per_camera = block if isinstance(block, dict) else data
        outputs: list[FrigateOutput] = []
        for name in self.cameras:
            stats = per_camera.get(name)
            if not isinstance(stats, dict):
                continue
            fps = _number(stats.get("camera_fps"))
            process = _number(stats.get("process_fps"))
            skipped = _number(stats.get("skipped_fps"))
            if fps is None or process is None:
                self._warn(
                    f"stats:fields:{name}",
                    "frigate stats for %r lack camera_fps/process_fps; its health stays unknown",
                    name,
                )
                continue
            camera = self._state.setdefault(name, _Camera())
            camera.problem = self._problem(fps, process, skipped)
            outputs += self._report(name, camera)
        return outputs

    def _problem(self, fps: float, process: float, skipped: float | None) -> str | None:
        limits = self.thresholds
        if fps < limits.min_camera_fps:
            return f"camera delivers {fps:g} fps"
        if skipped is not None and process + skipped > 0:
            share = skipped / (process + skipped)
            if share > limits.max_skipped_share:
                return f"{share:.0%} of frames skipped ({skipped:g} fps)"
        return None

    def _report(self, name: str, camera: _Camera) -> list[FrigateOutput]:
        down = sorted(role for role, up in camera.roles.items() if not up)
        online = not down
        degraded = online and camera.problem is not None
        if down:
            detail = f"{', '.join(down)} offline"
        elif degraded:
            detail = camera.problem or ""
        else:
            detail = "streams online"
        state = (online, degraded, tuple(down))
        if state == camera.reported:
            return []
        camera.reported = state
        payload = DeviceStatusPayload(
            device_id=self.cameras[name],
            kind="camera",
            online=online,
            degraded=degraded,
            detail=detail[:200],
        )
        return [FrigateOutput(EVENT_DEVICE_STATUS, payload)]


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None

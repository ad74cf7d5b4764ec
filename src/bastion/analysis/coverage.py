"""Find camera-coverage gaps: required zones no camera covers, and how much of each is seen."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bastion.site.schemas import DeviceType, FieldOfView, Rect, Site

__all__ = ["CoverageReport", "ZoneCoverage", "camera_coverage", "fov_mask"]


@dataclass(frozen=True, slots=True)
class ZoneCoverage:
    """Coverage of one camera-required zone."""

    zone: str
    cameras: tuple[str, ...]
    fraction: float | None


@dataclass(frozen=True, slots=True)
class CoverageReport:
    """Camera coverage of every zone that requires it."""

    zones: tuple[ZoneCoverage, ...]

    @property
    def uncovered(self) -> list[str]:
        """Return zones that no camera lists in ``covers`` and no view cone reaches."""
        return [z.zone for z in self.zones if not z.cameras and not z.fraction]


def fov_mask(fov: FieldOfView, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Return which plan points lie inside a camera's view cone (range and angle)."""
    dx = xs - fov.position.x
    dy = ys - fov.position.y
    distance = np.hypot(dx, dy)
    bearing = np.degrees(np.arctan2(dy, dx)) % 360.0
    offset = np.abs((bearing - fov.direction_deg + 180.0) % 360.0 - 180.0)
    inside: np.ndarray = (distance <= fov.range_m) & (
        (offset <= fov.angle_deg / 2.0) | (distance == 0.0) | (fov.angle_deg >= 360.0)
    )
    return inside


def _grid(area: Rect, step: float) -> tuple[np.ndarray, np.ndarray]:
    nx = max(1, math.ceil(area.width / step))
    ny = max(1, math.ceil(area.height / step))
    xs = area.x + (np.arange(nx) + 0.5) * (area.width / nx)
    ys = area.y + (np.arange(ny) + 0.5) * (area.height / ny)
    gx, gy = np.meshgrid(xs, ys)
    return gx.ravel(), gy.ravel()


def camera_coverage(site: Site, *, step_m: float = 0.5) -> CoverageReport:
    """Return coverage of camera-required zones: listing cameras and view-cone fractions."""
    cameras = [d for d in site.devices if d.type is DeviceType.CAMERA]
    cones = [c.fov for c in cameras if c.fov is not None]
    zones: list[ZoneCoverage] = []
    for zone in site.zones:
        if not zone.camera_required:
            continue
        listing = tuple(c.id for c in cameras if zone.id in c.covers)
        fraction: float | None = None
        if zone.area is not None and cones:
            xs, ys = _grid(zone.area, step_m)
            seen = np.zeros(xs.shape, dtype=bool)
            for cone in cones:
                seen |= fov_mask(cone, xs, ys)
            fraction = float(seen.mean())
        zones.append(ZoneCoverage(zone.id, listing, fraction))
    return CoverageReport(tuple(zones))

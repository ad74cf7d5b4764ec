"""The recording-coverage report: per camera, and per required area (the union of its cameras).

A zone marked ``camera_required`` in the site model is recorded at a moment when any
camera covering it was recording then; its coverage is the scan of all those cameras'
segments together. An area with no camera at all, or only cameras whose recordings
could not be read, is reported as unknown — never as covered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from bastion.maintenance import gaps
from bastion.maintenance.checks import Gathered
from bastion.site.schemas import DeviceType, Site


@dataclass(frozen=True)
class AreaCoverage:
    """Recording of one required area over the period."""

    zone_id: str
    name: str
    cameras: tuple[str, ...]
    state: str
    coverage_pct: float | None
    gaps: tuple[tuple[float, float], ...]
    detail: str = ""


def cameras_of(site: Site, zone_id: str) -> tuple[str, ...]:
    """Return the cameras that cover a zone (``covers``, or the zone they sit in)."""
    return tuple(
        d.id
        for d in site.devices
        if d.type is DeviceType.CAMERA and (zone_id in d.covers or d.zone == zone_id)
    )


def areas(
    site: Site,
    gathered: dict[str, Gathered],
    start: datetime,
    end: datetime,
    *,
    min_gap_s: float,
    required_pct: float,
) -> list[AreaCoverage]:
    """Return the coverage of every camera-required zone from its cameras' segments."""
    found = []
    for zone in site.zones:
        if not zone.camera_required:
            continue
        cams = cameras_of(site, zone.id)
        readable = [gathered[c].segments for c in cams if c in gathered]
        usable = [s for s in readable if s is not None]
        if not cams or not usable:
            why = "no camera covers this area" if not cams else "its recordings could not be read"
            found.append(AreaCoverage(zone.id, zone.name, cams, "unknown", None, (), why))
            continue
        starts = np.concatenate([s.starts for s in usable])
        ends = np.concatenate([s.ends for s in usable])
        coverage = gaps.scan(starts, ends, start.timestamp(), end.timestamp(), min_gap_s=min_gap_s)
        unread = len(cams) - len(usable)
        detail = f"{unread} of its cameras could not be read" if unread else ""
        short = coverage.percent < required_pct
        state = "gaps" if coverage.gaps or short else "ok"
        found.append(
            AreaCoverage(
                zone.id,
                zone.name,
                cams,
                state,
                round(coverage.percent, 4),
                tuple((g.start, g.end) for g in coverage.gaps),
                detail,
            )
        )
    return found

"""Where a camera's recorded segments come from: Frigate's recordings API or a segment folder.

Both sources answer the same question — which (start, end) stretches of a camera were
written to disk in a period — as numpy arrays for :func:`bastion.maintenance.gaps.scan`.
Anything a source cannot vouch for is a :class:`SourceProblem` (the check then says
"unknown", never "recording OK"): a recorder that times out or answers garbage, a folder
that is missing. Single bad segments are skipped with one warning naming how many.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from urllib.parse import quote

import httpx
import numpy as np
import numpy.typing as npt

VIDEO_SUFFIXES = frozenset({".mp4", ".mkv", ".avi", ".ts", ".mov", ".m4v"})
MAX_SEGMENT_S = 3600.0
"""Longest plausible segment; a longer one (a broken header) is not trusted."""
_STAMP = re.compile(
    r"(?P<y>\d{4})-?(?P<mo>\d{2})-?(?P<d>\d{2})[T_ -]?(?P<h>\d{2})[-:.]?(?P<mi>\d{2})[-:.]?(?P<s>\d{2})"
)
_FRIGATE_FILE = re.compile(r"^(?P<mi>\d{2})\.(?P<s>\d{2})$")


class SourceProblem(Exception):
    """The recordings could not be read at all; coverage is unknown."""


@dataclass
class Segments:
    """Recorded stretches of one camera, and what was wrong with some of them."""

    starts: npt.NDArray[np.float64]
    ends: npt.NDArray[np.float64]
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, pairs: Iterable[tuple[float, float]], warnings: list[str]) -> Segments:
        """Build from (start, end) pairs."""
        array = np.array(list(pairs), dtype=np.float64).reshape(-1, 2)
        return cls(array[:, 0].copy(), array[:, 1].copy(), warnings)


# --- Frigate ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FrigateRecordings:
    """Frigate's HTTP API: ``/api/<camera>/recordings?after=&before=`` (epoch seconds)."""

    api_url: str
    timeout_s: float = 10.0

    def segments(self, camera: str, start: datetime, end: datetime) -> Segments:
        """Return the segments Frigate lists for ``camera`` between two moments."""
        url = f"{self.api_url.rstrip('/')}/api/{quote(camera, safe='')}/recordings"
        params = {"after": f"{start.timestamp():.0f}", "before": f"{end.timestamp():.0f}"}
        try:
            reply = httpx.get(url, params=params, timeout=self.timeout_s)
        except httpx.TimeoutException:
            raise SourceProblem(f"Frigate did not answer within {self.timeout_s:g} s") from None
        except httpx.HTTPError as exc:
            raise SourceProblem(f"Frigate could not be reached ({type(exc).__name__})") from None
        if reply.status_code != 200:
            raise SourceProblem(f"Frigate answered {reply.status_code} for camera {camera!r}")
        try:
            body = reply.json()
        except ValueError:
            raise SourceProblem("Frigate's answer is not JSON") from None
        return parse_frigate(body)


def parse_frigate(body: object) -> Segments:
    """Read Frigate's recordings list; entries without usable times are skipped and counted."""
    if not isinstance(body, list):
        raise SourceProblem("Frigate's answer is not a list of recordings")
    pairs: list[tuple[float, float]] = []
    bad = 0
    for item in body:
        start = _number(item.get("start_time")) if isinstance(item, dict) else None
        end = _number(item.get("end_time")) if isinstance(item, dict) else None
        if start is None or end is None or not 0 < end - start <= MAX_SEGMENT_S:
            bad += 1
            continue
        pairs.append((start, end))
    warnings = [f"{bad} recording entries without usable start and end times were ignored"]
    return Segments.of(pairs, warnings if bad else [])


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


# --- a folder of segment files ---------------------------------------------------------------


def segment_start(path: Path, root: Path, tz: tzinfo = UTC) -> datetime | None:
    """Return when a segment file starts, from its name (and, for Frigate's layout, folders).

    Frigate writes ``<day>/<hour>/<camera>/MM.SS.mp4`` (UTC); other recorders put a
    timestamp such as ``20260307T140000`` or ``2026-03-07_14-00-00`` in the file name.
    """
    match = _FRIGATE_FILE.match(path.stem)
    parts = path.relative_to(root).parts
    if match and len(parts) >= 4:
        day, hour = parts[-4], parts[-3]
        try:
            base = datetime.strptime(f"{day} {hour}", "%Y-%m-%d %H").replace(tzinfo=UTC)
        except ValueError:
            return None
        return base.replace(minute=int(match["mi"]), second=int(match["s"]))
    found = _STAMP.search(path.name)
    if found is None:
        return None
    try:
        moment = datetime(
            int(found["y"]),
            int(found["mo"]),
            int(found["d"]),
            int(found["h"]),
            int(found["mi"]),
            int(found["s"]),
            tzinfo=tz,
        )
        return moment.astimezone(UTC)
    except ValueError:
        return None


def probe_seconds(path: Path) -> float | None:
    """Return how long a video file plays (frames / fps), or None when it cannot be read."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            return None
        fps = capture.get(cv2.CAP_PROP_FPS)
        frames = capture.get(cv2.CAP_PROP_FRAME_COUNT)
        if not (fps and fps > 0 and frames and frames > 0):
            return None
        ok, _ = capture.read()
        if not ok:
            return None
        seconds = float(frames) / float(fps)
        return seconds if 0 < seconds <= MAX_SEGMENT_S else None
    finally:
        capture.release()


def folder_segments(
    root: Path,
    camera: str | None,
    start: datetime,
    end: datetime,
    *,
    tz: tzinfo = UTC,
    nominal_s: float | None = None,
) -> Segments:
    """Return the segments of a folder (only files whose path names ``camera``, when given).

    Each file's length is read from the file (``nominal_s`` trusts a fixed length
    instead, for very large archives). Unreadable or undated files are skipped with one
    warning each kind; they count as not recorded.
    """
    if not root.is_dir():
        raise SourceProblem(f"the segment folder {root} does not exist")
    pairs: list[tuple[float, float]] = []
    undated: list[str] = []
    unreadable: list[str] = []
    lo, hi = start.timestamp(), end.timestamp()
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in VIDEO_SUFFIXES or not path.is_file():
            continue
        if (
            camera is not None
            and camera not in path.relative_to(root).parts[:-1]
            and (camera not in path.stem)
        ):
            continue
        began = segment_start(path, root, tz)
        if began is None:
            undated.append(path.name)
            continue
        first = began.timestamp()
        if first >= hi or first + MAX_SEGMENT_S <= lo:
            continue
        seconds = nominal_s if nominal_s is not None else probe_seconds(path)
        if seconds is None:
            unreadable.append(path.name)
            continue
        pairs.append((first, first + seconds))
    warnings = []
    if unreadable:
        warnings.append(
            f"{len(unreadable)} segment file(s) could not be read and count as not recorded"
            f" (first: {unreadable[0]})"
        )
    if undated:
        warnings.append(
            f"{len(undated)} file(s) have no timestamp in their name and were ignored"
            f" (first: {undated[0]})"
        )
    return Segments.of(pairs, warnings)

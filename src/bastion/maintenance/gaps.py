"""Recording coverage: merge a camera's recorded segments and list the gaps in a period.

A recorder writes segments (start, end) — Frigate ten-second chunks, an NVR's files.
Proving 24/7 recording means showing the union of those segments covers the period,
and naming every hole longer than a tolerance. A year of ten-second segments is three
million per camera, so the merge is done on numpy arrays: segments written in order
(the usual case) need no sort, and a running maximum of the ends finds every hole in
a few linear passes. Times are seconds (floats or integers) on any common epoch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.floating] | npt.NDArray[np.integer]


@dataclass(frozen=True)
class Gap:
    """A stretch of the period with no recording (seconds on the segments' epoch)."""

    start: float
    end: float

    @property
    def seconds(self) -> float:
        """Return the length of the gap."""
        return self.end - self.start


@dataclass(frozen=True)
class Coverage:
    """What the segments cover of a period: recorded seconds, the gaps, and any overlap."""

    period_start: float
    period_end: float
    recorded_s: float
    gaps: tuple[Gap, ...]
    segments: int
    overlap_s: float = 0.0
    warnings: tuple[str, ...] = field(default=())

    @property
    def period_s(self) -> float:
        """Return the length of the period."""
        return max(0.0, self.period_end - self.period_start)

    @property
    def percent(self) -> float:
        """Return the share of the period recorded, 0–100."""
        if self.period_s <= 0:
            return 100.0
        return 100.0 * min(self.recorded_s, self.period_s) / self.period_s

    @property
    def gap_s(self) -> float:
        """Return the seconds of the period in listed gaps."""
        return sum(g.seconds for g in self.gaps)


def scan(
    starts: Array,
    ends: Array,
    period_start: float,
    period_end: float,
    *,
    min_gap_s: float = 0.0,
) -> Coverage:
    """Return the coverage of ``[period_start, period_end)`` by segments ``starts``/``ends``.

    Gaps of ``min_gap_s`` seconds or less are tolerated (ffmpeg restarts, rounding at
    segment edges) and not listed, but the recorded seconds stay exact. Segments may be
    unsorted and may overlap; overlap is reported, never counted twice.
    """
    s = np.asarray(starts)
    e = np.asarray(ends)
    if s.shape != e.shape or s.ndim != 1:
        raise ValueError("starts and ends must be one-dimensional arrays of the same length")
    if period_end <= period_start:
        raise ValueError("the period must end after it starts")
    if s.size:
        inside = (e > period_start) & (s < period_end)
        if not inside.all():
            s, e = s[inside], e[inside]
    if s.size == 0:
        return Coverage(period_start, period_end, 0.0, (Gap(period_start, period_end),), segments=0)
    if s.size > 1 and bool((s[1:] < s[:-1]).any()):
        order = np.argsort(s, kind="stable")
        s, e = s[order], e[order]
    reach = np.maximum.accumulate(e)
    # A hole opens between segment i and i+1 when i+1 starts after everything so far ended.
    holes = np.flatnonzero(s[1:] > reach[:-1])
    hole_starts = reach[holes].astype(np.float64)
    hole_ends = s[holes + 1].astype(np.float64)
    first, last = float(s[0]), float(reach[-1])
    union = float(np.clip(last, period_start, period_end) - max(first, period_start))
    union -= float((hole_ends - hole_starts).sum())
    raw = float((np.minimum(e, period_end) - np.maximum(s, period_start)).sum())
    overlap = max(0.0, raw - union)
    edges: list[Gap] = []
    if first > period_start:
        edges.append(Gap(period_start, first))
    long = (hole_ends - hole_starts) > min_gap_s
    inner = [
        Gap(a, b) for a, b in zip(hole_starts[long].tolist(), hole_ends[long].tolist(), strict=True)
    ]
    tail = [Gap(last, period_end)] if last < period_end else []
    gaps = tuple(g for g in (*edges, *inner, *tail) if g.seconds > min_gap_s)
    return Coverage(
        period_start,
        period_end,
        max(0.0, union),
        gaps,
        segments=int(s.size),
        overlap_s=overlap,
    )


def naive_scan(
    segments: list[tuple[float, float]], period_start: float, period_end: float, min_gap_s: float
) -> tuple[float, list[tuple[float, float]]]:
    """Merge intervals one by one in plain Python (the textbook way; the benchmark's peer).

    Returns the recorded seconds and the gaps longer than ``min_gap_s``.
    """
    merged: list[list[float]] = []
    for start, end in sorted(segments):
        start, end = max(start, period_start), min(end, period_end)
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    gaps: list[tuple[float, float]] = []
    cursor = period_start
    for start, end in merged:
        if start - cursor > min_gap_s:
            gaps.append((cursor, start))
        cursor = end
    if period_end - cursor > min_gap_s:
        gaps.append((cursor, period_end))
    return sum(end - start for start, end in merged), gaps

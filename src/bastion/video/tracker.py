"""Multi-object tracker: ByteTrack-style two-pass IoU association, scored by Hungarian matching.

Confident detections are matched to tracks first, weak ones then only to tracks left
unmatched, so a half-hidden person keeps their id instead of starting a new one. Ages are
in seconds, not frames: when the detector is gated off, tracks are held, not aged.
(norfair and Roboflow's trackers were tried: their current releases pin numpy<2, rich<13
or the non-headless OpenCV, which clash with this project's dependencies.)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from bastion.video.detector import Detection


@dataclass
class Track:
    """One object followed across frames."""

    id: int
    box: tuple[float, float, float, float]
    score: float
    first_seen: float
    last_seen: float
    hits: int = 1
    labels: Counter[str] = field(default_factory=Counter)

    @property
    def label(self) -> str:
        """Return the label seen most often (detectors flicker between truck and car)."""
        return self.labels.most_common(1)[0][0]

    @property
    def anchor(self) -> tuple[float, float]:
        """Return the bottom centre of the box."""
        x1, _, x2, y2 = self.box
        return ((x1 + x2) / 2.0, y2)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the IoU matrix of two box arrays (N×4, M×4)."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)), dtype=np.float32)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return np.asarray(inter / (area_a[:, None] + area_b[None, :] - inter + 1e-9))


@dataclass
class Tracker:
    """Follow detections over time; ``min_hits`` confirms a track, ``max_age_s`` ends it."""

    high: float = 0.5
    low: float = 0.3
    match_iou: float = 0.2
    min_hits: int = 3
    max_age_s: float = 2.0
    tracks: list[Track] = field(default_factory=list)
    _next: int = 1

    def update(self, detections: list[Detection], now: float) -> list[Track]:
        """Match ``detections`` seen at ``now`` (seconds) and return the confirmed tracks."""
        strong = [d for d in detections if d.score >= self.high]
        weak = [d for d in detections if self.low <= d.score < self.high]
        unmatched = self._match(list(range(len(self.tracks))), strong, now, create=True)
        self._match(unmatched, weak, now, create=False)
        self.tracks = [t for t in self.tracks if now - t.last_seen <= self.max_age_s]
        return self.confirmed()

    def confirmed(self) -> list[Track]:
        """Return the tracks seen often enough to be real."""
        return [t for t in self.tracks if t.hits >= self.min_hits]

    def _match(
        self, candidates: list[int], detections: list[Detection], now: float, *, create: bool
    ) -> list[int]:
        boxes = np.array([d.box for d in detections], dtype=np.float32).reshape(-1, 4)
        known = np.array([self.tracks[i].box for i in candidates], dtype=np.float32).reshape(-1, 4)
        overlap = iou(known, boxes)
        # The same-label bonus keeps a person's track from jumping to a passing car.
        for col, det in enumerate(detections):
            for row, index in enumerate(candidates):
                if self.tracks[index].labels.get(det.label):
                    overlap[row, col] += 0.05
        rows, cols = linear_sum_assignment(-overlap) if overlap.size else ([], [])
        used_tracks: set[int] = set()
        used_dets: set[int] = set()
        for row, col in zip(rows, cols, strict=True):
            if overlap[row, col] < self.match_iou:
                continue
            track = self.tracks[candidates[row]]
            det = detections[col]
            track.box, track.score, track.last_seen = det.box, det.score, now
            track.hits += 1
            track.labels[det.label] += 1
            used_tracks.add(candidates[row])
            used_dets.add(col)
        if create:
            for col, det in enumerate(detections):
                if col not in used_dets:
                    track = Track(self._next, det.box, det.score, now, now)
                    track.labels[det.label] += 1
                    self.tracks.append(track)
                    self._next += 1
        return [i for i in candidates if i not in used_tracks]

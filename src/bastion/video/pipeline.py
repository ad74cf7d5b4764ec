"""One camera's analytics: frame → motion gate → detector → tracker → zone rules.

The detector runs only on frames with motion, plus a refresh every ``refresh_every``
frames so a parked vehicle is re-confirmed while nothing moves. Without a detector run
the tracks are held as they are, so time-based rules keep counting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from bastion.video.detector import Detection
from bastion.video.motion import MotionGate
from bastion.video.rules import RuleEngine, RuleHit, RuleSpec
from bastion.video.tracker import Track, Tracker

Detector = Callable[[np.ndarray], list[Detection]]


@dataclass
class FrameResult:
    """What one frame produced."""

    moved: bool
    detected: bool
    tracks: list[Track]
    hits: list[RuleHit]


@dataclass
class Stats:
    """Counters reported in device health."""

    frames: int = 0
    detector_runs: int = 0
    dropped: int = 0
    hits: int = 0


@dataclass
class CameraPipeline:
    """Run the analytics of one camera on frames it is handed, in order."""

    camera_id: str
    detector: Detector
    specs: list[RuleSpec]
    gate: bool = True
    refresh_every: int = 50
    tracker: Tracker = field(default_factory=Tracker)
    motion: MotionGate = field(default_factory=MotionGate)
    stats: Stats = field(default_factory=Stats)
    engine: RuleEngine | None = None
    last_detections: list[Detection] = field(default_factory=list)
    _since_run: int = 0

    def process(self, frame: np.ndarray, now: float, local: datetime | None = None) -> FrameResult:
        """Analyse one frame taken at ``now`` (epoch seconds; ``local``: the site's time)."""
        if self.engine is None:
            height, width = frame.shape[:2]
            self.engine = RuleEngine(self.specs, width, height)
        self.stats.frames += 1
        moved = self.motion(frame) if self.gate else True
        self._since_run += 1
        run = moved or self._since_run >= self.refresh_every or self.stats.frames == 1
        if run:
            self._since_run = 0
            self.last_detections = self.detector(frame)
            self.stats.detector_runs += 1
            tracks = self.tracker.update(self.last_detections, now)
        else:
            for track in self.tracker.tracks:
                track.last_seen = now  # held: nothing moved, so nothing left
            tracks = self.tracker.confirmed()
        hits = self.engine.update(tracks, now, local)
        self.stats.hits += len(hits)
        return FrameResult(moved, run, tracks, hits)

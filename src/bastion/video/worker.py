"""One camera in its own thread, so a slow camera never blocks another.

The thread reads the stream, keeps to the analysed frame rate, runs the pipeline and hands
rule hits to the event loop.

A live stream is grabbed continuously and only every n-th frame is decoded; when the
pipeline falls behind, the frames it had no time for are counted as dropped (and
reported in device health) instead of queuing up. A file is read as fast as the CPU
allows, timed by its own frame rate (tests and replays).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path

import cv2
import numpy as np

from bastion.video.pipeline import CameraPipeline, Detector, Stats
from bastion.video.rules import RuleHit, RuleSpec

_LOGGER = logging.getLogger(__name__)
RETRY_S = 5.0
PREVIEW_EVERY_S = 1.0

OnHits = Callable[["CameraWorker", list[RuleHit], np.ndarray, float], None]
OnStatus = Callable[["CameraWorker", bool, str], None]


@dataclass
class Preview:
    """The latest analysed frame of a camera, as JPEG with boxes drawn, and when."""

    jpeg: bytes
    at: float
    detections: list[tuple[str, float, tuple[float, float, float, float]]]


def draw(frame: np.ndarray, boxes: list[tuple[str, tuple[float, float, float, float]]]) -> bytes:
    """Return ``frame`` as JPEG with labelled boxes drawn (the evidence snapshot)."""
    image = frame.copy()
    for text, (x1, y1, x2, y2) in boxes:
        p1, p2 = (int(x1), int(y1)), (int(x2), int(y2))
        cv2.rectangle(image, p1, p2, (0, 0, 255), 2)
        cv2.putText(image, text, (p1[0], max(12, p1[1] - 4)), 0, 0.5, (0, 0, 255), 1)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return bytes(data) if ok else b""


@dataclass
class CameraWorker:
    """Analyse one camera's stream until stopped."""

    site_id: str
    camera_id: str
    source: str
    fps: float
    specs: list[RuleSpec]
    make_detector: Callable[[], Detector]
    timezone: tzinfo
    on_hits: OnHits
    on_status: OnStatus
    gate: bool = True
    loop_file: bool = False
    stats: Stats = field(default_factory=Stats)
    online: bool | None = None
    preview: Preview | None = None
    done: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _detector: Detector | None = None

    def start(self) -> None:
        """Start the camera's thread."""
        self._thread = threading.Thread(
            target=self._run, name=f"video-{self.camera_id}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to stop and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def is_file(self) -> bool:
        """Return True when the source is a local file (replayed, not streamed)."""
        return "://" not in self.source and Path(self.source).is_file()

    def _status(self, online: bool, detail: str) -> None:
        if online != self.online:
            self.online = online
            self.on_status(self, online, detail)

    def _run(self) -> None:
        try:
            # Loaded here, not in the event loop: reading the model takes a moment.
            self._detector = self.make_detector()
        except Exception as exc:
            _LOGGER.error("camera %s: no detector (%s)", self.camera_id, exc)
            self._status(False, f"no detector: {exc}"[:120])
            self.done.set()
            return
        try:
            while not self._stop.is_set():
                capture = cv2.VideoCapture(self.source)
                if not capture.isOpened():
                    self._status(False, "the stream does not open")
                    if self._stop.wait(RETRY_S):
                        break
                    continue
                self._status(True, "stream open")
                try:
                    finished = self._analyse(capture)
                finally:
                    capture.release()
                if finished and not self.loop_file:
                    break
                if not finished:
                    self._status(False, "the stream stopped sending frames")
                    if self._stop.wait(RETRY_S):
                        break
        except Exception:
            _LOGGER.exception("camera %s: analysis stopped", self.camera_id)
            self._status(False, "analysis failed")
        finally:
            self.done.set()

    def _analyse(self, capture: cv2.VideoCapture) -> bool:
        """Analyse until the stream ends; return True for a file read to its end."""
        assert self._detector is not None
        pipeline = CameraPipeline(self.camera_id, self._detector, self.specs, gate=self.gate)
        pipeline.stats = self.stats
        native = capture.get(cv2.CAP_PROP_FPS) or self.fps
        native = native if 0 < native <= 120 else self.fps
        step = max(1, round(native / self.fps))
        replay = self.is_file
        started = time.time()
        index = 0
        behind = 0
        last_preview = 0.0
        while not self._stop.is_set():
            if not capture.grab():
                return replay
            index += 1
            if index % step:
                continue
            if behind > 0:  # no time for this one: the pipeline is late
                behind -= 1
                self.stats.dropped += 1
                continue
            ok, frame = capture.retrieve()
            if not ok:
                return replay
            now = started + index / native if replay else time.time()
            local = datetime.fromtimestamp(now, self.timezone).replace(tzinfo=None)
            tick = time.perf_counter()
            result = pipeline.process(frame, now, local)
            spent = time.perf_counter() - tick
            if not replay:
                behind = int(spent * self.fps)
            if result.hits:
                self.on_hits(self, result.hits, frame, now)
            if now - last_preview >= PREVIEW_EVERY_S:
                last_preview = now
                found = [(d.label, d.score, d.box) for d in pipeline.last_detections]
                boxes = [(f"{t.label} #{t.id}", t.box) for t in result.tracks]
                self.preview = Preview(draw(frame, boxes), now, found)
        return False

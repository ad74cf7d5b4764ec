"""Frigate-style motion gate: grey frame difference on a 100-px-high copy.

Costs well under a millisecond per frame, so it runs on every frame and decides whether
the detector (20+ ms) runs at all. A change over most of the frame (IR switch, lightning,
a camera knocked) recalibrates instead of reporting motion.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

HEIGHT = 100
KERNEL = np.ones((3, 3), np.uint8)


@dataclass
class MotionGate:
    """Say whether a frame moved compared with a slowly updated background."""

    threshold: int = 30
    contour_area: int = 10
    alpha: float = 0.01
    calibrating_alpha: float = 0.2
    calibration_frames: int = 10
    lightning: float = 0.8
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    _average: np.ndarray | None = None
    _calibrating: int = 0
    _moving_for: int = 0

    def __call__(self, frame: np.ndarray) -> bool:
        """Return True when something moved; keep the motion boxes (frame pixels)."""
        height, width = frame.shape[:2]
        scale = HEIGHT / height
        grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        small = cv2.resize(grey, (max(1, int(width * scale)), HEIGHT))
        small = cv2.GaussianBlur(small, (3, 3), 0).astype(np.float32)
        self.boxes = []
        if self._average is None:
            self._average = small
            self._calibrating = self.calibration_frames
            return False
        delta = cv2.absdiff(small, self._average)
        mask = (delta > self.threshold).astype(np.uint8)
        changed = float(mask.mean())
        if changed > self.lightning:
            self._average = small
            self._calibrating = self.calibration_frames
            return False
        grown = cv2.dilate(mask, KERNEL, iterations=2)
        contours, _ = cv2.findContours(
            np.asarray(grown, np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
        )
        for contour in contours:
            if cv2.contourArea(contour) > self.contour_area:
                x, y, w, h = cv2.boundingRect(contour)
                self.boxes.append(
                    (int(x / scale), int(y / scale), int((x + w) / scale), int((y + h) / scale))
                )
        moving = bool(self.boxes)
        self._moving_for = self._moving_for + 1 if moving else 0
        alpha = self.calibrating_alpha if self._calibrating else self.alpha
        if self._calibrating:
            self._calibrating -= 1
        # A difference that persists (a parked car) is absorbed only after a while, as Frigate.
        if not moving or self._moving_for > 10:
            cv2.accumulateWeighted(small, self._average, alpha)
        return moving and not self._calibrating

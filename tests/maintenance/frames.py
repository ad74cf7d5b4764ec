"""Real frames from the shared test footage, and the synthetic tampering applied to them."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import cv2
import numpy as np

DATA = Path("/work/shared/data")
FOOTAGE = DATA / "vtest.avi"


@cache
def frames(step: int = 50, count: int = 8) -> tuple[np.ndarray, ...]:
    """Return every ``step``-th frame of the pedestrian footage (people walk through)."""
    capture = cv2.VideoCapture(str(FOOTAGE))
    found: list[np.ndarray] = []
    index = 0
    while len(found) < count:
        ok, frame = capture.read()
        if not ok:
            break
        if index % step == 0:
            found.append(frame)
        index += 1
    capture.release()
    assert found, f"cannot read {FOOTAGE}"
    return tuple(found)


def covered(frame: np.ndarray) -> np.ndarray:
    """A hand or tape over the lens: dark and nearly uniform."""
    noise = np.random.default_rng(1).integers(0, 4, frame.shape, dtype=np.uint8)
    return np.full_like(frame, 12) + noise


def defocused(frame: np.ndarray) -> np.ndarray:
    """The focus ring turned (or the dome sprayed)."""
    return cv2.GaussianBlur(frame, (0, 0), 6)


def shifted(frame: np.ndarray, share: float = 0.12) -> np.ndarray:
    """The camera knocked sideways."""
    h, w = frame.shape[:2]
    move = np.float32([[1, 0, w * share], [0, 1, h * 0.04]])
    return cv2.warpAffine(frame, move, (w, h), borderMode=cv2.BORDER_REFLECT)


def blocked(frame: np.ndarray) -> np.ndarray:
    """Cardboard boxes stacked in front of the lower left of the view."""
    out = frame.copy()
    h, w = out.shape[:2]
    cv2.rectangle(out, (0, int(h * 0.45)), (int(w * 0.4), h), (60, 110, 160), -1)
    for y in (0.6, 0.75, 0.9):
        cv2.line(out, (0, int(h * y)), (int(w * 0.4), int(h * y)), (40, 80, 120), 3)
    return out

"""The real test footage and photos (``shared/data``) and the rules drawn on ``vtest.avi``.

The zones were drawn on frame 300 of the clip (768×576, an outdoor path with a parked
white van); coordinates here are pixels, turned into the relative form the product stores.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from bastion.video.detector import shared_dir
from bastion.video.rules import RuleSpec

DATA: Path = shared_dir() / "data"
CLIP = DATA / "vtest.avi"
W, H = 768, 576


def rel(*points: tuple[int, int]) -> tuple[tuple[float, float], ...]:
    """Return pixel points of the clip as relative coordinates."""
    return tuple((x / W, y / H) for x, y in points)


DOOR_AREA = rel((320, 200), (460, 200), (460, 300), (320, 300))
"""Left of the 'fire assembly point' sign, where two men stop and talk at the start."""
VAN_BAY = rel((630, 60), (725, 60), (725, 110), (630, 110))
"""Around the parked white van (the detector calls it a truck)."""
EMPTY_LAWN = rel((400, 440), (680, 440), (680, 520), (400, 520))
"""The lawn around the tripod, where nobody walks in the first 20 s."""
PATH_LINE = rel((560, 150), (560, 420))
"""A vertical counting line across the path, right of the sign."""

SPECS = [
    RuleSpec("door", "loitering", DOOR_AREA, seconds=8, zone_id="lobby"),
    RuleSpec("bay", "parked", VAN_BAY, seconds=10, zone_id="parking"),
    RuleSpec("lawn", "loitering", EMPTY_LAWN, seconds=1),
    RuleSpec("path", "line", PATH_LINE),
]


def frames(seconds: float, fps: float = 5.0) -> Iterator[tuple[float, np.ndarray]]:
    """Yield (time in s, frame) of the clip's first ``seconds``, decimated to ``fps``."""
    capture = cv2.VideoCapture(str(CLIP))
    native = capture.get(cv2.CAP_PROP_FPS) or 10.0
    step = max(1, round(native / fps))
    index = 0
    try:
        while index < seconds * native:
            ok, frame = capture.read()
            if not ok:
                return
            index += 1
            if index % step == 0:
                yield index / native, frame
    finally:
        capture.release()

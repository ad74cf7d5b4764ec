"""Camera tamper and view checks: compare a snapshot with the approved reference view.

Four ways a camera stops doing its job without going offline: its lens is covered or
it sees black (**covered**), it went out of focus or was sprayed (**defocused**), it was
knocked or turned (**moved**), or something now stands in front of part of its view —
typically stacked inventory (**blocked**). The checks run on a small grey copy of each
image (a 1080p frame costs the same as a 480-pixel one after the first resize):

* covered: almost no light, or almost no variation across the frame;
* defocused: the typical (median) sharpness of the grid cells fell far below the
  reference's — a blur lowers every cell, an obstacle only some;
* moved: ORB features of the reference matched in the snapshot, a similarity transform
  fitted with RANSAC; too large a shift, turn or zoom (or no fit at all) is a move;
* blocked: after aligning, grid cells that lost most of their texture or changed
  beyond recognition, forming one connected region large enough to matter (people
  walking through change a few scattered cells, not a block).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

Image = npt.NDArray[Any]
WORK_WIDTH = 480
GRID = (8, 6)
FEATURES = 250
"""ORB features per image: enough to fit a similarity, few enough to match fast."""
"""Columns and rows of the cell grid the blocked and defocused checks use."""


class Verdict(StrEnum):
    """What a view check found."""

    OK = "ok"
    COVERED = "covered"
    DEFOCUSED = "defocused"
    MOVED = "moved"
    BLOCKED = "blocked"
    UNKNOWN = "unknown"


class ViewSettings(BaseModel):
    """Thresholds of the view checks (a site may tune them per camera)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dark_mean: float = Field(default=18.0, ge=0, description="Mean grey below this is covered.")
    flat_std: float = Field(default=6.0, ge=0, description="Grey spread below this is covered.")
    sharpness_ratio: float = Field(
        default=0.3, gt=0, lt=1, description="Median cell sharpness vs reference below: defocused."
    )
    max_shift: float = Field(
        default=0.04, gt=0, description="Shift beyond this share of the width: moved."
    )
    max_turn_deg: float = Field(default=3.0, gt=0, description="Rotation beyond this: moved.")
    max_zoom: float = Field(default=0.08, gt=0, description="Scale change beyond this: moved.")
    min_matches: int = Field(default=12, ge=4, description="Fewer feature matches: moved.")
    blocked_share: float = Field(
        default=0.1, gt=0, lt=1, description="Occluded region of at least this share: blocked."
    )


@dataclass(frozen=True)
class ViewResult:
    """The verdict of one check, the measures behind it, and the occluded cells."""

    verdict: Verdict
    detail: str
    scores: dict[str, float] = field(default_factory=dict)
    blocked_cells: tuple[tuple[int, int], ...] = ()


def _grey(image: Image) -> Image:
    if image is None or image.size == 0:
        raise ValueError("the image is empty")
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    height, width = image.shape[:2]
    if width != WORK_WIDTH:
        size = (WORK_WIDTH, max(GRID[1] * 8, round(height * WORK_WIDTH / width)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return image


def _cells(grey: Image) -> npt.NDArray[np.float32]:
    """Return the grey image cropped to whole cells, shaped (rows, h, cols, w)."""
    cols, rows = GRID
    h, w = grey.shape[0] // rows, grey.shape[1] // cols
    return grey[: h * rows, : w * cols].astype(np.float32).reshape(rows, h, cols, w)


def _cell_sharpness(grey: Image) -> npt.NDArray[np.float32]:
    lap = cv2.Laplacian(grey, cv2.CV_32F, ksize=3)
    cells = _cells(np.abs(lap))
    return cells.var(axis=(1, 3)) + cells.mean(axis=(1, 3)) ** 2  # type: ignore[no-any-return]


def _features(grey: Image) -> tuple[Any, Any]:
    # A detector per call: OpenCV's objects are not to be shared between threads.
    return cv2.ORB.create(nfeatures=FEATURES, fastThreshold=12).detectAndCompute(grey, None)


class Reference:
    """An approved view of a camera, prepared once for many checks."""

    def __init__(self, image: Image, settings: ViewSettings | None = None) -> None:
        self.settings = settings or ViewSettings()
        self.grey = _grey(image)
        self.sharpness = _cell_sharpness(self.grey)
        self.keypoints, self.descriptors = _features(self.grey)
        if self.descriptors is None or len(self.keypoints) < self.settings.min_matches:
            raise ValueError("the reference view has too little detail to compare against")

    def check(self, image: Image) -> ViewResult:
        """Compare a snapshot with this reference view."""
        settings = self.settings
        grey = _grey(image)
        if grey.shape != self.grey.shape:
            grey = cv2.resize(grey, self.grey.shape[::-1], interpolation=cv2.INTER_AREA)
        mean, std = cv2.meanStdDev(grey)
        scores: dict[str, float] = {"mean": float(mean[0][0]), "spread": float(std[0][0])}
        if scores["mean"] < settings.dark_mean or scores["spread"] < settings.flat_std:
            what = "dark" if scores["mean"] < settings.dark_mean else "featureless"
            return ViewResult(Verdict.COVERED, f"the picture is {what} (lens covered?)", scores)
        sharp = _cell_sharpness(grey)
        ratio = float(np.median(sharp / np.maximum(self.sharpness, 1e-3)))
        scores["sharpness"] = ratio
        if ratio < settings.sharpness_ratio:
            return ViewResult(
                Verdict.DEFOCUSED, f"the picture is {ratio:.0%} as sharp as the reference", scores
            )
        moved = self._alignment(grey, scores)
        if moved is not None:
            return ViewResult(Verdict.MOVED, moved, scores)
        return self._occlusion(grey, sharp, scores)

    def _alignment(self, grey: Image, scores: dict[str, float]) -> str | None:
        settings = self.settings
        keypoints, descriptors = _features(grey)
        matcher = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True)
        matches = matcher.match(self.descriptors, descriptors) if descriptors is not None else []
        scores["matches"] = float(len(matches))
        if len(matches) < settings.min_matches:
            return f"only {len(matches)} features of the reference view are still seen"
        src = np.array([self.keypoints[m.queryIdx].pt for m in matches], dtype=np.float32)
        dst = np.array([keypoints[m.trainIdx].pt for m in matches], dtype=np.float32)
        fit, inliers = cv2.estimateAffinePartial2D(
            src, dst, method=cv2.RANSAC, ransacReprojThreshold=3.0
        )
        kept = int(inliers.sum()) if inliers is not None else 0
        scores["inliers"] = float(kept)
        if fit is None or kept < settings.min_matches:
            return f"the reference view is no longer found ({kept} consistent features)"
        zoom = math.hypot(fit[0, 0], fit[1, 0])
        turn = math.degrees(math.atan2(fit[1, 0], fit[0, 0]))
        shift = math.hypot(fit[0, 2], fit[1, 2]) / grey.shape[1]
        scores.update(shift=shift, turn_deg=turn, zoom=zoom)
        if abs(turn) > settings.max_turn_deg:
            return f"the view turned by {abs(turn):.1f}°"
        if abs(zoom - 1) > settings.max_zoom:
            return f"the view zoomed by {zoom - 1:+.0%}"
        if shift > settings.max_shift:
            return f"the view shifted by {shift:.0%} of its width"
        return None

    def _occlusion(
        self, grey: Image, sharp: npt.NDArray[np.float32], scores: dict[str, float]
    ) -> ViewResult:
        ref_cells, cells = _cells(self.grey), _cells(grey)
        ref_mean, mean = ref_cells.mean(axis=(1, 3)), cells.mean(axis=(1, 3))
        a = ref_cells - ref_mean[:, None, :, None]
        b = cells - mean[:, None, :, None]
        denominator = np.sqrt((a * a).sum(axis=(1, 3)) * (b * b).sum(axis=(1, 3))) + 1e-3
        ncc = (a * b).sum(axis=(1, 3)) / denominator
        lost_texture = sharp < 0.25 * self.sharpness
        replaced = (ncc < 0.2) & (np.abs(mean - ref_mean) > 40)
        flagged = lost_texture | replaced
        region = _largest_region(flagged)
        share = len(region) / flagged.size
        scores["blocked_share"] = share
        if share >= self.settings.blocked_share:
            return ViewResult(
                Verdict.BLOCKED,
                f"{share:.0%} of the view is hidden by something in front of the camera",
                scores,
                tuple(sorted(region)),
            )
        return ViewResult(Verdict.OK, "the view matches the reference", scores)


def _largest_region(flagged: npt.NDArray[np.bool_]) -> set[tuple[int, int]]:
    """Return the cells (row, col) of the largest 4-connected group of flagged cells."""
    rows, cols = flagged.shape
    seen: set[tuple[int, int]] = set()
    best: set[tuple[int, int]] = set()
    for r in range(rows):
        for c in range(cols):
            if not flagged[r, c] or (r, c) in seen:
                continue
            group, stack = set(), [(r, c)]
            while stack:
                cell = stack.pop()
                if cell in seen:
                    continue
                seen.add(cell)
                group.add(cell)
                y, x = cell
                for ny, nx in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):
                    if 0 <= ny < rows and 0 <= nx < cols and flagged[ny, nx]:
                        stack.append((ny, nx))
            if len(group) > len(best):
                best = group
    return best


def decode(data: bytes) -> Image:
    """Decode an encoded image (JPEG, PNG …); raise ValueError when it is not one."""
    if not data:
        raise ValueError("the snapshot is empty")
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("the snapshot is not an image OpenCV can read")
    return image


def pixel_difference(reference: Image, image: Image, threshold: float = 30.0) -> bool:
    """Return True when the mean absolute pixel difference exceeds ``threshold``.

    The plain check the benchmark compares with: it cannot say *what* changed, and a
    crowd walking through trips it as surely as a covered lens.
    """
    return bool(cv2.absdiff(reference, image).mean() > threshold)


def summary(result: ViewResult) -> dict[str, Any]:
    """Return a result as plain data for storage and the API."""
    return {
        "verdict": result.verdict.value,
        "detail": result.detail,
        "scores": {k: round(v, 4) for k, v in result.scores.items()},
        "blocked_cells": [list(cell) for cell in result.blocked_cells],
    }

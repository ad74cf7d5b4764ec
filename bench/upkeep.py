"""Benchmark: a year of recording segments for 64 cameras, and camera view checks on 1080p frames.

Run: .venv/bin/python bench/upkeep.py [--cameras 64] [--naive-cameras 2] [--seconds 3]

Gap scan: per camera, a year of 10-second segments (3,153,600 of them; 64 cameras are
about 200 million segments covering 2 billion camera-seconds), with a few hundred
segments missing at random and some ffmpeg-restart jitter. Generating them is not
timed; Bastion's vectorised scan (``bastion.maintenance.gaps.scan``) is timed over every
camera. The peer is the textbook interval merge in plain Python (sort the (start, end)
pairs, extend or open a run, list the holes) over the same segments; it takes minutes
per camera-year, so it runs on ``--naive-cameras`` cameras and is scaled linearly to the
full count (it is linear in the segments once sorted, and the input is already sorted).
Both must find the same gaps on the cameras they both scan.

Tamper checks: real frames of the shared footage scaled to 1920x1080, some tampered
(covered, blurred, shifted, blocked), checked against a prepared reference view on one
core (OpenCV limited to one thread) for ``--seconds``; the peer is a plain per-pixel
difference on the same frames (it cannot tell which tampering it saw, or a crowd from
a covered lens). The last line is the summary::

    UPKEEP gap_scan_s=<ours> naive_gap_scan_s=<peer> tamper_checks_per_s=<ours>
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from bastion.maintenance.gaps import naive_scan, scan
from bastion.maintenance.views import Reference, pixel_difference

ROOT = Path(__file__).resolve().parents[1]
FOOTAGE = ROOT.parent.parent / "shared" / "data" / "vtest.avi"
YEAR_S = 365 * 86400
SEGMENT_S = 10
EPOCH = 1_735_689_600.0  # 2025-01-01 UTC
SEED = 20260307


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def camera_year(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Return one camera's year of segments: some missing, ends jittered by restarts."""
    starts = EPOCH + np.arange(0, YEAR_S, SEGMENT_S, dtype=np.float64)
    keep = np.ones(starts.size, dtype=bool)
    keep[rng.integers(0, starts.size, 300)] = False
    starts = starts[keep]
    ends = starts + SEGMENT_S - rng.random(starts.size) * 0.5  # up to 0.5 s short
    return starts, ends


def bench_gaps(cameras: int, naive_cameras: int, budget_s: float) -> tuple[float, float, str]:
    rng = np.random.default_rng(SEED)
    ours = 0.0
    naive = 0.0
    naive_done = 0
    segments = 0
    found = 0
    for index in range(cameras):
        starts, ends = camera_year(rng)
        segments += starts.size
        began = time.perf_counter()
        coverage = scan(starts, ends, EPOCH, EPOCH + YEAR_S, min_gap_s=2.0)
        ours += time.perf_counter() - began
        found += len(coverage.gaps)
        if index < naive_cameras and naive < budget_s:
            pairs = list(zip(starts.tolist(), ends.tolist(), strict=True))
            began = time.perf_counter()
            _, gaps = naive_scan(pairs, EPOCH, EPOCH + YEAR_S, 2.0)
            naive += time.perf_counter() - began
            naive_done += 1
            if [(g.start, g.end) for g in coverage.gaps] != gaps:
                raise SystemExit(f"camera {index}: the scans disagree")
            del pairs
    scaled = naive / max(naive_done, 1) * cameras
    note = (
        f"gap scan: {segments:,} segments of {cameras} cameras, {found:,} gaps; "
        f"naive merge measured on {naive_done} camera(s) ({naive:.1f} s), scaled to {cameras}"
    )
    return ours, scaled, note


def frames_1080p() -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(FOOTAGE))
    frames = []
    index = 0
    while len(frames) < 8:
        ok, frame = capture.read()
        if not ok:
            break
        if index % 60 == 0:
            frames.append(cv2.resize(frame, (1920, 1080)))
        index += 1
    capture.release()
    if not frames:
        raise SystemExit(f"cannot read {FOOTAGE}")
    h, w = frames[0].shape[:2]
    tampered = [
        np.full_like(frames[1], 12),
        cv2.GaussianBlur(frames[2], (0, 0), 12),
        cv2.warpAffine(
            frames[3],
            np.float32([[1, 0, w * 0.12], [0, 1, 0]]),
            (w, h),
            borderMode=cv2.BORDER_REFLECT,
        ),
    ]
    blocked = frames[4].copy()
    cv2.rectangle(blocked, (0, h // 2), (w * 2 // 5, h), (60, 110, 160), -1)
    tampered.append(blocked)
    return frames + tampered


def bench_tamper(seconds: float) -> tuple[float, float, dict[str, int]]:
    cv2.setNumThreads(1)
    frames = frames_1080p()
    reference = Reference(frames[0])
    verdicts: dict[str, int] = {}
    done = 0
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        result = reference.check(frames[done % len(frames)])
        verdicts[result.verdict.value] = verdicts.get(result.verdict.value, 0) + 1
        done += 1
    ours = done / (time.perf_counter() - began)
    plain = 0
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        pixel_difference(frames[0], frames[plain % len(frames)])
        plain += 1
    peer = plain / (time.perf_counter() - began)
    return ours, peer, verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cameras", type=int, default=64)
    parser.add_argument("--naive-cameras", type=int, default=2)
    parser.add_argument("--naive-budget-s", type=float, default=120.0)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    ours, naive, note = bench_gaps(args.cameras, args.naive_cameras, args.naive_budget_s)
    say(note)
    say(f"gap scan: ours {ours:.2f} s, naive merge {naive:.1f} s ({naive / ours:.0f}x)")
    checks, plain, verdicts = bench_tamper(args.seconds)
    say(
        f"tamper checks on 1080p, one core: ours {checks:.1f}/s {verdicts}; "
        f"plain pixel difference {plain:.1f}/s (no verdict)"
    )
    print(
        f"UPKEEP gap_scan_s={ours:.2f} naive_gap_scan_s={naive:.1f} tamper_checks_per_s={checks:.1f}"
    )


if __name__ == "__main__":
    main()

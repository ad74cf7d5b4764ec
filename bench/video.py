"""Benchmark: frames/s per core of the built-in video pipeline on the real clip, and cameras
per 2-core box at 5 fps, against running the detector on every frame, in one run.

Run: .venv/bin/python bench/video.py [--seconds S] [--limit-s L]
On ``vtest.avi`` (768x576, a busy outdoor path: motion in nearly every frame), analysed at
5 fps the way a camera worker does it (every other frame of the 10 fps clip decoded),
single-threaded (one worker per core is how the product scales):

* ours: decode -> motion gate -> NanoDet INT8 only on motion (or a refresh every 50 frames)
  -> tracker -> zone rules (loitering, parked vehicle, a counting line);
* peer: the same decode, detector, tracker and rules with the gate off, so the detector
  runs on every analysed frame (the ungated, Frigate-without-motion approach);
* ours and the peer on a quiet scene: the clip's first frame held still with camera noise
  (its generation is inside the timing, so the quiet figures are a lower bound), to show
  what the gate saves when nothing moves (a typical perimeter at night);
* Frigate's own published CPU figure is quoted, not measured (Frigate cannot run here:
  its images and detector model are downloaded at build time).

CPU time is the process's (``time.process_time``), so a busy machine stretches the wall
clock but not the result much. Cameras per box = 2 cores x 70 % budget (headroom for
the API, database and recording) / (5 fps / frames per core), the planning rule of the
project's video reference. Every configuration has a wall-clock limit: what was done by
then is reported, marked "(timed out)".
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bastion.video.detector import NanoDet, shared_dir  # noqa: E402
from bastion.video.pipeline import CameraPipeline  # noqa: E402
from bastion.video.rules import RuleSpec  # noqa: E402

FPS = 5.0
CORES = 2
BUDGET = 0.7
FRIGATE_CPU_FPS = "2-3"
FRIGATE_SOURCE = "Frigate README (CPU detector on an Intel i7: '2-3 FPS with the CPU')"
W, H = 768, 576


def rel(*points: tuple[int, int]) -> tuple[tuple[float, float], ...]:
    return tuple((x / W, y / H) for x, y in points)


SPECS = [
    RuleSpec("door", "loitering", rel((320, 200), (460, 200), (460, 300), (320, 300)), seconds=8),
    RuleSpec("bay", "parked", rel((630, 60), (725, 60), (725, 110), (630, 110)), seconds=10),
    RuleSpec("path", "line", rel((560, 150), (560, 420))),
]


@dataclass
class Result:
    name: str
    frames: int = 0
    detector_runs: int = 0
    cpu_s: float = 0.0
    wall_s: float = 0.0
    hits: int = 0
    timed_out: bool = False
    error: str = ""

    @property
    def fps_per_core(self) -> float:
        return self.frames / self.cpu_s if self.cpu_s > 0 else 0.0

    @property
    def cameras(self) -> int:
        return math.floor(CORES * BUDGET * self.fps_per_core / FPS)


def clip_frames(clip: Path, seconds: float, quiet: bool):
    """Yield (t, frame) at 5 fps as a worker reads them (grab every frame, decode every 2nd)."""
    capture = cv2.VideoCapture(str(clip))
    native = capture.get(cv2.CAP_PROP_FPS) or 10.0
    step = max(1, round(native / FPS))
    still = None
    rng = np.random.default_rng(7)
    index = 0
    try:
        while index < seconds * native:
            if quiet and still is not None:
                index += 1
                if index % step:
                    continue
                noise = rng.integers(-3, 4, still.shape, dtype=np.int16)
                yield index / native, np.clip(still + noise, 0, 255).astype(np.uint8)
                continue
            if not capture.grab():
                return
            index += 1
            if index % step:
                continue
            ok, frame = capture.retrieve()
            if not ok:
                return
            if quiet:
                still = frame.astype(np.int16)
            yield index / native, frame
    finally:
        capture.release()


def run(
    name: str, clip: Path, seconds: float, *, gate: bool, quiet: bool, limit_s: float
) -> Result:
    result = Result(name)
    try:
        pipeline = CameraPipeline("bench", NanoDet(), SPECS, gate=gate)
        wall0, cpu0 = time.perf_counter(), time.process_time()
        for at, frame in clip_frames(clip, seconds, quiet):
            result.hits += len(pipeline.process(frame, at).hits)
            result.frames += 1
            if time.perf_counter() - wall0 > limit_s:
                result.timed_out = True
                break
        result.cpu_s = time.process_time() - cpu0
        result.wall_s = time.perf_counter() - wall0
        result.detector_runs = pipeline.stats.detector_runs
    except Exception as exc:  # a benchmark reports, it does not crash
        result.error = f"{type(exc).__name__}: {exc}"
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40.0, help="seconds of clip per run")
    parser.add_argument("--limit-s", type=float, default=120.0, help="wall-clock limit per run")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    clip = shared_dir() / "data" / "vtest.avi"
    if not clip.is_file():
        print(f"VIDEO error=missing_clip path={clip}")
        return
    results = [
        run(
            "ours (motion gate on)",
            clip,
            args.seconds,
            gate=True,
            quiet=False,
            limit_s=args.limit_s,
        ),
        run(
            "peer: detector every frame",
            clip,
            args.seconds,
            gate=False,
            quiet=False,
            limit_s=args.limit_s,
        ),
        run("ours, quiet scene", clip, args.seconds, gate=True, quiet=True, limit_s=args.limit_s),
        run("peer, quiet scene", clip, args.seconds, gate=False, quiet=True, limit_s=args.limit_s),
    ]
    print(
        f"{'configuration':32} {'frames':>6} {'det runs':>8} {'cpu s':>7} {'ms/frame':>8} {'fps/core':>8} {'cams@5fps':>9}"
    )
    for r in results:
        if r.error:
            print(f"{r.name:32} error: {r.error}")
            continue
        mark = " (timed out)" if r.timed_out else ""
        per = 1000 * r.cpu_s / r.frames if r.frames else 0.0
        print(
            f"{r.name:32} {r.frames:6d} {r.detector_runs:8d} {r.cpu_s:7.2f} {per:8.1f}"
            f" {r.fps_per_core:8.1f} {r.cameras:9d}{mark}"
        )
    print(
        f"Frigate, CPU detector (published, not measured here): {FRIGATE_CPU_FPS} fps -- {FRIGATE_SOURCE}"
    )
    ours, peer = results[0], results[1]
    print(
        f"VIDEO fps_per_core={ours.fps_per_core:.1f} cameras_at_5fps={ours.cameras}"
        f" ungated_fps_per_core={peer.fps_per_core:.1f}"
    )


if __name__ == "__main__":
    main()

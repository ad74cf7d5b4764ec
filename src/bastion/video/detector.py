"""NanoDet (COCO-80) through onnxruntime: frame in, labelled boxes out.

The model files are the offline NanoDet conversions (INT8 by default; see the NOTICE next
to them). One single-threaded session per camera worker: throughput comes from running
one worker per core, not from threads inside one inference.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

INPUT = 416
STRIDES = (8, 16, 32)
BINS = 11
MEAN = np.array([103.53, 116.28, 123.675], dtype=np.float32)
STD = np.array([57.375, 57.12, 58.395], dtype=np.float32)
INV_STD = (1.0 / STD).astype(np.float32)
COCO = [
    "person",
    "bicycle",
    "car",
    "motorcycle",
    "airplane",
    "bus",
    "train",
    "truck",
    "boat",
    "traffic_light",
    "fire_hydrant",
    "stop_sign",
    "parking_meter",
    "bench",
    "bird",
    "cat",
    "dog",
    "horse",
    "sheep",
    "cow",
    "elephant",
    "bear",
    "zebra",
    "giraffe",
    "backpack",
    "umbrella",
    "handbag",
    "tie",
    "suitcase",
    "frisbee",
    "skis",
    "snowboard",
    "sports_ball",
    "kite",
    "baseball_bat",
    "baseball_glove",
    "skateboard",
    "surfboard",
    "tennis_racket",
    "bottle",
    "wine_glass",
    "cup",
    "fork",
    "knife",
    "spoon",
    "bowl",
    "banana",
    "apple",
    "sandwich",
    "orange",
    "broccoli",
    "carrot",
    "hot_dog",
    "pizza",
    "donut",
    "cake",
    "chair",
    "couch",
    "potted_plant",
    "bed",
    "dining_table",
    "toilet",
    "tv",
    "laptop",
    "mouse",
    "remote",
    "keyboard",
    "cell_phone",
    "microwave",
    "oven",
    "toaster",
    "sink",
    "refrigerator",
    "book",
    "clock",
    "vase",
    "scissors",
    "teddy_bear",
    "hair_drier",
    "toothbrush",
]
PERSON = "person"
VEHICLES = frozenset({"car", "truck", "bus", "motorcycle"})
SECURITY_LABELS = frozenset({PERSON, "bicycle", *VEHICLES})
"""Classes the rules care about; the rest (and the model's odd 'skis' or 'bird') are dropped."""


class ModelError(RuntimeError):
    """The detector model file is missing or is not a NanoDet model."""


@dataclass(frozen=True, slots=True)
class Detection:
    """One object found in a frame, in frame pixels."""

    label: str
    score: float
    box: tuple[float, float, float, float]

    @property
    def anchor(self) -> tuple[float, float]:
        """Return the bottom centre of the box (where the object stands)."""
        x1, _, x2, y2 = self.box
        return ((x1 + x2) / 2.0, y2)


def shared_dir() -> Path:
    """Return the project's ``shared`` folder: $BASTION_SHARED_DIR, else the nearest ancestor's.

    A checkout has it at ``../shared``; a git worktree sits deeper, so every ancestor is tried.
    """
    configured = os.environ.get("BASTION_SHARED_DIR")
    if configured:
        return Path(configured)
    for parent in Path(__file__).resolve().parents:
        if (parent / "shared" / "models").is_dir():
            return parent / "shared"
    return Path("shared")


def default_model_dir() -> Path:
    """Return the folder of the offline detector models."""
    return shared_dir() / "models"


class NanoDet:
    """Run the NanoDet ONNX graph on a BGR frame and decode its GFL head."""

    def __init__(
        self,
        model: Path | None = None,
        *,
        threshold: float = 0.35,
        labels: frozenset[str] | None = SECURITY_LABELS,
        threads: int = 1,
    ) -> None:
        path = model or default_model_dir() / "nanodet_int8.onnx"
        if not path.is_file():
            raise ModelError(f"detector model {path} is missing")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelError(f"{path.name} is not a usable ONNX model: {exc}") from None
        self.input = self.session.get_inputs()[0].name
        self.threshold = threshold
        self.keep = (
            np.array([name in labels for name in COCO]) if labels else np.ones(80, dtype=bool)
        )
        self._grids = {s: _grid(INPUT // s, s) for s in STRIDES}
        self._blob = np.empty((1, 3, INPUT, INPUT), dtype=np.float32)
        self.runs = 0

    def blob(self, frame: np.ndarray) -> np.ndarray:
        """Return the model input for ``frame``: resized, planar, normalised per channel.

        Written plane by plane into one reused buffer: about 8x cheaper than the obvious
        whole-array numpy expression, which allocates four 2 MB temporaries per frame.
        """
        small = cv2.resize(frame, (INPUT, INPUT))
        for channel in range(3):
            plane = self._blob[0, channel]
            plane[...] = small[:, :, channel]
            plane -= MEAN[channel]
            plane *= INV_STD[channel]
        return self._blob

    def __call__(self, frame: np.ndarray) -> list[Detection]:
        """Return the objects in ``frame`` (BGR, any size), after per-class NMS."""
        height, width = frame.shape[:2]
        outputs = self.session.run(None, {self.input: self.blob(frame)})
        self.runs += 1
        scores: dict[int, np.ndarray] = {}
        dists: dict[int, np.ndarray] = {}
        for out in outputs:
            cells, depth = out.shape[1], out.shape[2]
            stride = INPUT // round(cells**0.5)
            (scores if depth == 80 else dists)[stride] = out[0]
        boxes, confs, classes = [], [], []
        for stride in STRIDES:
            cls = scores[stride] * self.keep
            best = cls.argmax(axis=1)
            conf = cls[np.arange(len(best)), best]
            hit = conf >= self.threshold
            if not hit.any():
                continue
            dist = dists[stride][hit].reshape(-1, 4, BINS)
            dist = np.exp(dist - dist.max(axis=2, keepdims=True))
            dist /= dist.sum(axis=2, keepdims=True)
            sides = (dist * np.arange(BINS, dtype=np.float32)).sum(axis=2) * stride
            centre = self._grids[stride][hit]
            box = np.concatenate([centre - sides[:, :2], centre + sides[:, 2:]], axis=1)
            boxes.append(box)
            confs.append(conf[hit])
            classes.append(best[hit])
        if not boxes:
            return []
        box = np.concatenate(boxes) * np.array(
            [width / INPUT, height / INPUT, width / INPUT, height / INPUT], dtype=np.float32
        )
        conf = np.concatenate(confs)
        cls = np.concatenate(classes)
        found: list[Detection] = []
        for label in np.unique(cls):
            idx = np.flatnonzero(cls == label)
            for i in nms(box[idx], conf[idx], 0.5):
                x1, y1, x2, y2 = (float(v) for v in box[idx[i]])
                found.append(
                    Detection(
                        COCO[int(label)],
                        float(conf[idx[i]]),
                        (max(0.0, x1), max(0.0, y1), min(width, x2), min(height, y2)),
                    )
                )
        found.sort(key=lambda d: -d.score)
        return found


def _grid(size: int, stride: int) -> np.ndarray:
    rows, cols = np.mgrid[0:size, 0:size]
    return np.stack([cols.ravel() * stride, rows.ravel() * stride], axis=1).astype(np.float32)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    """Return the indices kept by greedy non-maximum suppression, best first."""
    order = scores.argsort()[::-1]
    keep: list[int] = []
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        xx1 = np.maximum(boxes[i, 0], boxes[rest, 0])
        yy1 = np.maximum(boxes[i, 1], boxes[rest, 1])
        xx2 = np.minimum(boxes[i, 2], boxes[rest, 2])
        yy2 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.clip(xx2 - xx1, 0, None) * np.clip(yy2 - yy1, 0, None)
        overlap = inter / (areas[i] + areas[rest] - inter + 1e-9)
        order = rest[overlap <= iou]
    return keep

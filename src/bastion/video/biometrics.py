"""Face as a second factor: a door camera must have seen the cardholder's face just before.

Face matches come from Frigate's face recognition (``tracked_object_update`` of type
``face``, or ``sub_label`` ``[name, score]`` on ``frigate/events``) or from our own
pipeline. The name is turned into a person through the site's enrolments (by keyed hash:
we never keep face data or names in clear). :class:`FaceWitness` is the access engine's
second factor: card and a face match of the same person within N s grants; a face of
someone else denies (and the video runtime raises an alarm); no face yet asks for one.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from bastion.access.reasons import Reason
from bastion.integrations.payloads import BadPayload, loads

KEEP_S = 300.0
MAX_NAME = 100


@dataclass(frozen=True)
class FaceDoor:
    """The camera and window of a door that needs a face match."""

    camera_id: str
    window_s: float
    min_score: float


@dataclass(frozen=True)
class FaceSeen:
    """A face recognised on a camera at ``t`` (epoch seconds); person None when unknown."""

    t: float
    person_id: str | None
    score: float


@dataclass
class FaceWitness:
    """Recent faces per camera, checked by the access engine at doors that need one.

    Must be used from one thread (the event loop), like the engine.
    """

    doors: dict[str, FaceDoor] = field(default_factory=dict)
    seen: dict[str, deque[FaceSeen]] = field(default_factory=dict)

    def observe(self, camera_id: str, person_id: str | None, score: float, t: float) -> None:
        """Remember a face recognised on ``camera_id``."""
        faces = self.seen.setdefault(camera_id, deque(maxlen=200))
        faces.append(FaceSeen(t, person_id, score))
        while faces and t - faces[0].t > KEEP_S:
            faces.popleft()

    def check(self, door_key: str, person_id: str, t: float) -> tuple[Reason, str] | None:
        """Return None when the door needs no face or saw this person's; else the refusal."""
        door = self.doors.get(door_key)
        if door is None:
            return None
        recent = [
            f
            for f in self.seen.get(door.camera_id, ())
            if t - door.window_s <= f.t <= t + 1.0 and f.score >= door.min_score
        ]
        if any(f.person_id == person_id for f in recent):
            return None
        others = [f for f in recent if f.person_id is not None]
        if others:
            return Reason.FACE_MISMATCH, f"the face on {door.camera_id} is not the cardholder's"
        return Reason.FACE_REQUIRED, f"no face match on {door.camera_id} in {door.window_s:g} s"


@dataclass(frozen=True)
class FrigateFace:
    """A face Frigate recognised: camera name, library name, score, time."""

    camera: str
    name: str
    score: float
    t: float | None


def parse_frigate_face(sub: str, payload: bytes) -> FrigateFace | None:
    """Return the face in a ``tracked_object_update`` or ``events`` message, else None.

    Raises :class:`BadPayload` for malformed JSON; other shapes are simply not faces.
    """
    message = loads(payload)
    if not isinstance(message, dict):
        raise BadPayload("not a JSON object")
    if sub == "tracked_object_update":
        if message.get("type") != "face":
            return None
        return _face(
            message.get("camera"),
            message.get("name"),
            message.get("score"),
            message.get("timestamp"),
        )
    if sub == "events":
        after = message.get("after")
        if not isinstance(after, dict):
            return None
        label = after.get("sub_label")
        if not isinstance(label, list | tuple) or len(label) != 2:
            return None  # older Frigate sends a bare name without a score: not enough here
        return _face(after.get("camera"), label[0], label[1], after.get("frame_time"))
    return None


def _face(camera: Any, name: Any, score: Any, t: Any) -> FrigateFace | None:
    if not isinstance(camera, str) or not isinstance(name, str):
        return None
    if not name.strip() or len(name) > MAX_NAME or len(camera) > MAX_NAME:
        return None
    if not isinstance(score, int | float) or isinstance(score, bool) or not math.isfinite(score):
        return None
    when = float(t) if isinstance(t, int | float) and math.isfinite(t) else None
    return FrigateFace(camera, name.strip(), max(0.0, min(1.0, float(score))), when)

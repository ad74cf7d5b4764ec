"""Face as a second factor: a door camera must have seen the cardholder's face just before.

Face matches come from Frigate's face recognition (``tracked_object_update`` of type
``face``, or ``sub_label`` ``[name, score]`` on ``frigate/events``) or from our own
pipeline. The name is turned into a person through the site's enrolments (by keyed hash:
we never keep face data or names in clear). :class:`FaceWitness` is the access engine's
second factor: card and a face match of the same person within N s grants; a face of
someone else denies (and the video runtime raises an alarm); no face yet asks for one.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from bastion.access.reasons import Reason

KEEP_S = 300.0


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

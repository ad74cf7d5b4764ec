"""API shapes of the video domain (never a stream password, template or face-library name)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

RuleKindIn = Literal["loitering", "parked", "line", "after_hours"]


class Strict(BaseModel):
    """Refuse unknown fields, so a typo is an error and not a silent default."""

    model_config = ConfigDict(extra="forbid")


class CameraWrite(Strict):
    """Analyse a camera of the site model with the built-in pipeline."""

    source: str = Field(
        min_length=1,
        max_length=500,
        title="Stream",
        description="rtsp://, http(s):// address of a 5 fps substream, or a file path.",
    )
    fps: float = Field(default=5.0, gt=0, le=30, title="Analysed frames per second")
    motion_gate: bool = Field(default=True, title="Skip still frames")
    enabled: bool = Field(default=True, title="Enabled")


class CameraRead(BaseModel):
    """An analysed camera with its live health (the stream address is never returned)."""

    camera_id: str
    name: str
    fps: float
    motion_gate: bool
    enabled: bool
    status: str
    frames: int
    detector_runs: int
    dropped: int
    rules: int


class RuleWrite(Strict):
    """A zone rule drawn on a camera image, in relative coordinates (0–1)."""

    name: str = Field(min_length=1, max_length=120, title="Name")
    kind: RuleKindIn = Field(title="Rule")
    points: list[tuple[float, float]] = Field(
        min_length=2, max_length=64, title="Points", description="Polygon (or a line's 2 ends)."
    )
    seconds: float = Field(default=10.0, ge=0, le=86400, title="Seconds")
    zone_id: str | None = Field(default=None, max_length=63, title="Zone of the site model")
    labels: list[str] = Field(default_factory=list, max_length=10, title="Object labels")
    starts: time | None = Field(default=None, title="After-hours start (site time)")
    ends: time | None = Field(default=None, title="After-hours end (site time)")

    @field_validator("points")
    @classmethod
    def verify_points(cls, value: list[tuple[float, float]]) -> list[tuple[float, float]]:
        """Keep every point on the image."""
        if any(not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0) for x, y in value):
            raise ValueError("points are relative to the image: each coordinate is 0 to 1")
        return value

    @model_validator(mode="after")
    def verify_shape(self) -> RuleWrite:
        """Require two points for a line, three for a zone, and hours for after-hours."""
        if self.kind == "line" and len(self.points) != 2:
            raise ValueError("a counting line has exactly two points")
        if self.kind != "line" and len(self.points) < 3:
            raise ValueError("a zone needs at least three points")
        if self.kind == "after_hours" and (self.starts is None or self.ends is None):
            raise ValueError("after-hours presence needs a start and an end time")
        return self


class RuleRead(BaseModel):
    """A stored zone rule."""

    id: str
    camera_id: str
    name: str
    kind: str
    points: list[tuple[float, float]]
    seconds: float
    zone_id: str | None
    zone_name: str | None
    labels: list[str]
    starts: str | None
    ends: str | None


class DetectionRead(BaseModel):
    """A rule that fired, with a link to its snapshot."""

    id: str
    camera_id: str
    camera_name: str
    kind: str
    label: str
    zone_id: str | None
    zone_name: str | None
    detail: str
    score: float
    at: datetime
    local_time: str
    snapshot_url: str | None


class EnrolmentWrite(Strict):
    """Enrol a fingerprint or a face of a person, with their recorded consent."""

    person_id: str = Field(min_length=1, max_length=26, title="Person")
    kind: Literal["fingerprint", "face"] = Field(title="Kind")
    reference: str = Field(
        min_length=1,
        max_length=200,
        title="Reference",
        description="Fingerprint: the user id the reader reports after a match. "
        "Face: the name in Frigate's face library.",
    )
    template: str | None = Field(
        default=None, max_length=20000, title="Template (base64), when the reader exports it"
    )
    card: str | None = Field(
        default=None,
        max_length=200,
        title="Card number the reader sends after a match",
        description="Fingerprint readers that match on the device and then send a card read "
        "(e.g. h10301:12:3456 or raw:26:…): the access credential issued for it opens doors.",
    )
    consent: bool = Field(title="The person consented in writing")
    consent_text: str = Field(
        default="Biometric data used only to open secured doors of this site.",
        min_length=1,
        max_length=400,
        title="What they consented to",
    )
    retain_days: int = Field(default=365, ge=1, le=3650, title="Keep for (days)")


class EnrolmentRead(BaseModel):
    """An enrolment, without its template or reference."""

    id: str
    person_id: str
    person_name: str
    kind: str
    consent_at: datetime
    retain_until: datetime
    revoked: bool
    credential_id: str | None = None


class FaceDoorWrite(Strict):
    """Require a face match of the cardholder at a door's camera."""

    camera_id: str = Field(min_length=1, max_length=63, title="Door camera")
    window_s: float = Field(default=10.0, gt=0, le=300, title="Face seen within (s)")
    min_score: float = Field(default=0.7, ge=0, le=1, title="Minimum face score")


class FaceDoorRead(BaseModel):
    """A door needing card and face."""

    door_id: str
    camera_id: str
    window_s: float
    min_score: float

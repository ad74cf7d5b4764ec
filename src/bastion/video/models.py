"""ORM rows of the video domain: analysed cameras, their rules, detections, biometrics.

A camera's stream address may carry a password, so it is encrypted. Biometric data is
never stored in clear: a fingerprint reader's template or user id and a face-library name
are kept as a keyed hash (to look a match up) plus ciphertext (to show an operator), and
every enrolment records the person's consent and how long it may be kept.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bastion.store.base import Base, JSONType, UTCDateTime
from bastion.store.crypto import EncryptedString


class VideoCamera(Base):
    """A camera of the site model that our own pipeline analyses (no NVR needed)."""

    __tablename__ = "video_cameras"

    site_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    source: Mapped[str] = mapped_column(EncryptedString())
    fps: Mapped[float] = mapped_column(Float, default=5.0)
    motion_gate: Mapped[bool] = mapped_column(Boolean, default=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class VideoRule(Base):
    """A zone rule drawn on one camera's image (relative coordinates), tied to a site zone."""

    __tablename__ = "video_rules"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    camera_id: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[list[Any]] = mapped_column(JSONType)
    seconds: Mapped[float] = mapped_column(Float)
    zone_id: Mapped[str | None] = mapped_column(String(63), default=None)
    labels: Mapped[list[str]] = mapped_column(JSONType)
    starts: Mapped[str | None] = mapped_column(String(5), default=None)
    ends: Mapped[str | None] = mapped_column(String(5), default=None)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_video_rules_camera", "site_id", "camera_id"),)


class VideoDetection(Base):
    """A rule that fired (or a line crossing), with its evidence snapshot."""

    __tablename__ = "video_detections"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    camera_id: Mapped[str] = mapped_column(String(63))
    rule_id: Mapped[str | None] = mapped_column(String(26), default=None)
    kind: Mapped[str] = mapped_column(String(24))
    label: Mapped[str] = mapped_column(String(32))
    zone_id: Mapped[str | None] = mapped_column(String(63), default=None)
    track: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    box: Mapped[list[float]] = mapped_column(JSONType)
    detail: Mapped[str] = mapped_column(String(200), default="")
    snapshot: Mapped[str | None] = mapped_column(String(200), default=None)
    event_id: Mapped[str | None] = mapped_column(String(26), default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_video_detections_site_at", "site_id", "at"),)


class BiometricEnrolment(Base):
    """A person's fingerprint (reader template / user id) or face (face-library name)."""

    __tablename__ = "biometric_enrolments"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(26))
    site_id: Mapped[str] = mapped_column(String(63))
    kind: Mapped[str] = mapped_column(String(16))
    match_hash: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(EncryptedString())
    template: Mapped[str | None] = mapped_column(EncryptedString(), default=None)
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    consent_by: Mapped[str] = mapped_column(String(128))
    consent_text: Mapped[str] = mapped_column(String(400))
    retain_until: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    credential_id: Mapped[str | None] = mapped_column(String(26), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("site_id", "kind", "match_hash", name="uq_biometric_match"),
        Index("ix_biometric_person", "person_id"),
    )


class FaceDoorRule(Base):
    """A door that needs a face match of the cardholder on its camera within a window."""

    __tablename__ = "video_face_doors"

    site_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    door_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(63))
    window_s: Mapped[float] = mapped_column(Float)
    min_score: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

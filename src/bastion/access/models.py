"""ORM rows of the access domain: credentials, levels, assignments, door policies, site state.

Card data, PINs and mobile tokens are stored only as keyed hashes (HMAC-SHA256).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bastion.store.base import Base, UTCDateTime


class Credential(Base):
    """A card, PIN, card+PIN or mobile token of one person."""

    __tablename__ = "credentials"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(26), ForeignKey("people.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    card_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    card_format: Mapped[str | None] = mapped_column(String(16))
    facility_code: Mapped[int | None] = mapped_column(Integer)
    pin_hash: Mapped[str | None] = mapped_column(String(64))
    mobile_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    activates_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_credentials_person", "person_id"),
        Index("ix_credentials_pin_hash", "pin_hash"),
    )

    def __repr__(self) -> str:
        return f"Credential(id={self.id!r}, kind={self.kind!r}, revoked={self.revoked})"


class AccessLevel(Base):
    """Doors and/or zones of one site × a schedule, with threat and gating limits."""

    __tablename__ = "access_levels"

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(200))
    schedule_id: Mapped[str | None] = mapped_column(String(63))
    doors: Mapped[list[str]] = mapped_column(JSON)
    zones: Mapped[list[str]] = mapped_column(JSON)
    max_threat_level: Mapped[int] = mapped_column(Integer)
    requires_training: Mapped[list[str]] = mapped_column(JSON)
    requires_background_check: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_access_levels_site", "site_id"),)


class LevelAssignment(Base):
    """One person holds one access level."""

    __tablename__ = "access_assignments"

    person_id: Mapped[str] = mapped_column(
        String(26), ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    level_id: Mapped[str] = mapped_column(
        String(63), ForeignKey("access_levels.id", ondelete="CASCADE"), primary_key=True
    )
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    granted_by: Mapped[str] = mapped_column(String(128))

    __table_args__ = (Index("ix_access_assignments_level", "level_id"),)


class DoorPolicy(Base):
    """Mode and rules of one door (two-person, escort, first-person-in)."""

    __tablename__ = "door_policies"

    site_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    door_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    mode: Mapped[str] = mapped_column(String(32))
    unlock_schedule_id: Mapped[str | None] = mapped_column(String(63))
    two_person: Mapped[bool] = mapped_column(Boolean)
    two_person_window_s: Mapped[float] = mapped_column(Float)
    two_person_distinct_roles: Mapped[bool] = mapped_column(Boolean)
    escort_required: Mapped[bool] = mapped_column(Boolean)
    escort_window_s: Mapped[float] = mapped_column(Float)
    escort_ratio: Mapped[int] = mapped_column(Integer)
    first_person_in: Mapped[bool] = mapped_column(Boolean)
    supervisor_roles: Mapped[list[str]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AntiPassbackArea(Base):
    """Anti-passback on entering one zone."""

    __tablename__ = "anti_passback_areas"

    site_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    zone_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16))
    timeout_s: Mapped[float] = mapped_column(Float)


class Interlock(Base):
    """A mantrap group of doors: one open keeps the others locked."""

    __tablename__ = "interlocks"

    site_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    doors: Mapped[list[str]] = mapped_column(JSON)


class AccessSiteState(Base):
    """Persisted site-wide state: threat level and locked-down zones."""

    __tablename__ = "access_site_state"

    site_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    threat_level: Mapped[int] = mapped_column(Integer)
    threat_name: Mapped[str] = mapped_column(String(64))
    lockdown_zones: Mapped[list[Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

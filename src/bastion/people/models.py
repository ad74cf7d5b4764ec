"""ORM rows for cardholders, training, role levels, reviews, offboarding and visits.

Names, background-check references, identity-document numbers and watchlist entries
are personal data: they live in encrypted columns. Look-ups by name or document number
use keyed hashes (HMAC) so that nothing is stored in clear to compare against.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bastion.store.base import Base, BigIntPK, JSONType, UTCDateTime
from bastion.store.crypto import EncryptedString


class PersonKind(StrEnum):
    """What kind of cardholder someone is."""

    EMPLOYEE = "employee"
    CONTRACTOR = "contractor"
    VISITOR = "visitor"


class PersonStatus(StrEnum):
    """Whether a cardholder's credentials may open anything."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    OFFBOARDED = "offboarded"


class BackgroundCheck(StrEnum):
    """Background-check status; only ``cleared`` opens levels that require a check."""

    NOT_REQUIRED = "not_required"
    PENDING = "pending"
    CLEARED = "cleared"
    FAILED = "failed"
    EXPIRED = "expired"


class Person(Base):
    """A cardholder."""

    __tablename__ = "people"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str | None] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(EncryptedString())
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(64))
    background_check: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Added by the people issue (migration 0008); all optional.
    name_key: Mapped[str | None] = mapped_column(String(64), default=None)
    user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    manager_id: Mapped[str | None] = mapped_column(String(26), default=None)
    contact_id: Mapped[str | None] = mapped_column(String(26), default=None)
    background_reference: Mapped[str | None] = mapped_column(EncryptedString(), default=None)
    background_checked_on: Mapped[date | None] = mapped_column(Date, default=None)
    background_expires_on: Mapped[date | None] = mapped_column(Date, default=None)

    training: Mapped[list[TrainingRecord]] = relationship(
        back_populates="person", cascade="all, delete-orphan", lazy="selectin"
    )

    def __repr__(self) -> str:
        return f"Person(id={self.id!r}, kind={self.kind!r}, status={self.status!r})"


class TrainingRecord(Base):
    """A completed course, with an optional expiry; levels may require a current one."""

    __tablename__ = "training_records"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(String(26), ForeignKey("people.id", ondelete="CASCADE"))
    course: Mapped[str] = mapped_column(String(64))
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    evidence: Mapped[str | None] = mapped_column(String(300), default=None)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    person: Mapped[Person] = relationship(back_populates="training")

    __table_args__ = (Index("ix_training_records_person", "person_id"),)


class RoleLevel(Base):
    """One access level a role needs (roles map to the least set of levels)."""

    __tablename__ = "people_role_levels"

    role: Mapped[str] = mapped_column(String(64), primary_key=True)
    level_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(128))


class AccessConfirmation(Base):
    """When a reviewer last confirmed that a person still needs a level."""

    __tablename__ = "people_access_confirmations"

    person_id: Mapped[str] = mapped_column(String(26), primary_key=True)
    level_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmed_by: Mapped[str] = mapped_column(String(128))


class Offboarding(Base):
    """One offboarding: what was cut when, and the shared secrets still to rotate."""

    __tablename__ = "people_offboardings"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(26))
    reason: Mapped[str] = mapped_column(String(200))
    summary: Mapped[dict[str, int]] = mapped_column(JSONType)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_by: Mapped[str] = mapped_column(String(128))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    secrets: Mapped[list[SecretRotation]] = relationship(
        back_populates="offboarding",
        cascade="all, delete-orphan",
        order_by="SecretRotation.id",
        lazy="selectin",
    )

    __table_args__ = (Index("ix_people_offboardings_person", "person_id"),)


class SecretRotation(Base):
    """A shared secret the leaver knew (safe combination, alarm code, shared account)."""

    __tablename__ = "people_secret_rotations"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    offboarding_id: Mapped[str] = mapped_column(
        String(26), ForeignKey("people_offboardings.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(120))
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    rotated_by: Mapped[str | None] = mapped_column(String(128), default=None)
    note: Mapped[str | None] = mapped_column(String(200), default=None)

    offboarding: Mapped[Offboarding] = relationship(back_populates="secrets")

    __table_args__ = (Index("ix_people_secret_rotations_offboarding", "offboarding_id"),)


class VisitStatus(StrEnum):
    """Where a visit stands."""

    EXPECTED = "expected"
    ON_SITE = "on_site"
    CHECKED_OUT = "checked_out"
    CANCELLED = "cancelled"
    REFUSED = "refused"


class Visit(Base):
    """One visit: who, for whom, why, where, when, and the temporary credential."""

    __tablename__ = "visits"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    status: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(EncryptedString())
    name_key: Mapped[str] = mapped_column(String(64))
    company: Mapped[str | None] = mapped_column(EncryptedString(), default=None)
    purpose: Mapped[str] = mapped_column(EncryptedString())
    host_id: Mapped[str] = mapped_column(String(26))
    areas: Mapped[list[str]] = mapped_column(JSONType)
    approved_by: Mapped[str | None] = mapped_column(String(128), default=None)
    walk_in: Mapped[bool] = mapped_column(Boolean, default=False)
    expected_at: Mapped[datetime] = mapped_column(UTCDateTime())
    until: Mapped[datetime] = mapped_column(UTCDateTime())
    id_type: Mapped[str | None] = mapped_column(String(32), default=None)
    id_number: Mapped[str | None] = mapped_column(EncryptedString(), default=None)
    id_number_key: Mapped[str | None] = mapped_column(String(64), default=None)
    id_expires_on: Mapped[date | None] = mapped_column(Date, default=None)
    person_id: Mapped[str | None] = mapped_column(String(26), default=None)
    credential_id: Mapped[str | None] = mapped_column(String(26), default=None)
    level_id: Mapped[str | None] = mapped_column(String(63), default=None)
    badge_number: Mapped[str | None] = mapped_column(String(32), default=None)
    escort_required: Mapped[bool] = mapped_column(Boolean, default=True)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    badge_returned: Mapped[bool | None] = mapped_column(Boolean, default=None)
    overstay_alarmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    refused_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(128))

    __table_args__ = (
        Index("ix_visits_site_status", "site_id", "status"),
        Index("ix_visits_created", "created_at"),
        Index("ix_visits_host", "host_id", "status"),
    )


class WatchlistEntry(Base):
    """Someone who must not be let in without security: found by keyed hash only."""

    __tablename__ = "visitor_watchlist"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    name: Mapped[str] = mapped_column(EncryptedString())
    name_key: Mapped[str] = mapped_column(String(64))
    id_number_key: Mapped[str | None] = mapped_column(String(64), default=None)
    reason: Mapped[str] = mapped_column(EncryptedString())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(128))

    __table_args__ = (
        Index("ix_visitor_watchlist_name_key", "name_key"),
        Index("ix_visitor_watchlist_id_key", "id_number_key"),
    )

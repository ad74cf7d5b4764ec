"""ORM rows for cardholders and their training records; names are encrypted at rest."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bastion.store.base import Base, BigIntPK, UTCDateTime
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
    """Background-check status (the people issue fills it in; levels may require cleared)."""

    NOT_REQUIRED = "not_required"
    PENDING = "pending"
    CLEARED = "cleared"
    FAILED = "failed"


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

    person: Mapped[Person] = relationship(back_populates="training")

    __table_args__ = (Index("ix_training_records_person", "person_id"),)

"""ORM models of the safety domain; personal data lives in encrypted columns."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bastion.store.base import Base, BigIntPK, JSONType, UTCDateTime
from bastion.store.crypto import EncryptedString

TIMER_STATES = ("active", "missed", "finished")


class Assessment(Base):
    """A worker's risk self-assessment; private to its owner unless shared."""

    __tablename__ = "safety_assessments"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    owner_id: Mapped[int] = mapped_column(Integer)
    answers: Mapped[str] = mapped_column(EncryptedString())
    notes: Mapped[str | None] = mapped_column(EncryptedString())
    level: Mapped[str] = mapped_column(EncryptedString())
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_safety_assessments_owner", "owner_id", "created_at"),)


class PlanItem(Base):
    """One action of an assessment's plan and whether the worker has done it."""

    __tablename__ = "safety_plan_items"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    assessment_id: Mapped[str] = mapped_column(
        ForeignKey("safety_assessments.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(Integer)
    action_id: Mapped[str] = mapped_column(String(64))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_safety_plan_items_assessment", "assessment_id", "position"),)


class Pins(Base):
    """A worker's check-in PIN and duress PIN, stored only as keyed hashes."""

    __tablename__ = "safety_pins"

    owner_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    checkin_hash: Mapped[str] = mapped_column(String(64))
    duress_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Timer(Base):
    """A lone-worker timer: check in before ``due_at`` or the call tree is started."""

    __tablename__ = "safety_timers"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    owner_id: Mapped[int] = mapped_column(Integer)
    task: Mapped[str] = mapped_column(EncryptedString())
    location: Mapped[str | None] = mapped_column(EncryptedString())
    interval_s: Mapped[int] = mapped_column(Integer)
    call_tree_id: Mapped[str | None] = mapped_column(String(26))
    status: Mapped[str] = mapped_column(String(16), default="active")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_checkin_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checkins: Mapped[int] = mapped_column(Integer, default=0)
    missed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    run_id: Mapped[str | None] = mapped_column(String(26))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_safety_timers_status_due", "status", "due_at"),
        Index("ix_safety_timers_owner", "owner_id", "started_at"),
    )


class Report(Base):
    """A suspicious-activity, suspicious-item, threat-call or doxing report for security."""

    __tablename__ = "safety_reports"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    reporter_id: Mapped[int | None] = mapped_column(Integer)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    indicators: Mapped[list[str]] = mapped_column(JSONType, default=list)
    details: Mapped[str] = mapped_column(EncryptedString())
    priority: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="open")
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    alarm_event_id: Mapped[str] = mapped_column(String(26))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_safety_reports_kind_created", "kind", "created_at"),
        Index("ix_safety_reports_reporter", "reporter_id"),
    )


class CaseStep(Base):
    """One recorded step of a doxing response (document, assess, report, lock down, monitor)."""

    __tablename__ = "safety_case_steps"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    report_id: Mapped[str] = mapped_column(ForeignKey("safety_reports.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(32))
    data: Mapped[str] = mapped_column(EncryptedString())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_safety_case_steps_report", "report_id", "recorded_at"),)


class Routine(Base):
    """A recurring trip (cash pickup, regular visit) with its allowed departure window."""

    __tablename__ = "safety_routines"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    owner_id: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(EncryptedString())
    window_start_min: Mapped[int] = mapped_column(Integer)
    window_end_min: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    """The zone the window is in (the site's when it was entered)."""
    routes: Mapped[str] = mapped_column(EncryptedString())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_safety_routines_owner", "owner_id"),)


class Trip(Base):
    """One past departure of a routine (time and route taken)."""

    __tablename__ = "safety_trips"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    routine_id: Mapped[str] = mapped_column(ForeignKey("safety_routines.id", ondelete="CASCADE"))
    departed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    route: Mapped[str | None] = mapped_column(EncryptedString())

    __table_args__ = (Index("ix_safety_trips_routine", "routine_id", "departed_at"),)

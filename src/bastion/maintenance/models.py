"""ORM rows of upkeep: asset register, schedules, work orders, walk tests and the proofs.

Recording and view checks are kept as evidence (what was checked, when, by whom, what
was found); the matching ledger events make them tamper-evident. Device uptime is not
stored here: it is read from the ledgered ``device.health`` decisions.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bastion.store.base import Base, JSONType, UTCDateTime


class Asset(Base):
    """One device of the site model with what maintenance needs to know about it."""

    __tablename__ = "maintenance_assets"

    site_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(120), default="")
    firmware: Mapped[str] = mapped_column(String(64), default="")
    installed_on: Mapped[date | None] = mapped_column(Date, default=None)
    warranty_until: Mapped[date | None] = mapped_column(Date, default=None)
    end_of_life: Mapped[date | None] = mapped_column(Date, default=None)
    replacement_cents: Mapped[int | None] = mapped_column(BigInteger, default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(128))


class Schedule(Base):
    """A recurring maintenance task of a site (assessment, camera check, battery test …)."""

    __tablename__ = "maintenance_schedules"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63), index=True)
    task: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(160))
    every_days: Mapped[int] = mapped_column(Integer)
    zone_id: Mapped[str | None] = mapped_column(String(63), default=None)
    next_due: Mapped[datetime] = mapped_column(UTCDateTime())
    last_done: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(128))


class WorkOrder(Base):
    """A piece of maintenance to do, with its checklist; opened by a schedule or a person."""

    __tablename__ = "maintenance_work_orders"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    schedule_id: Mapped[str | None] = mapped_column(
        ForeignKey("maintenance_schedules.id", name="fk_maintenance_work_orders_schedule"),
        default=None,
    )
    task: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(160))
    state: Mapped[str] = mapped_column(String(16), default="open")
    checklist: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(128))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    done_by: Mapped[str | None] = mapped_column(String(128), default=None)
    note: Mapped[str] = mapped_column(String(2000), default="")

    __table_args__ = (Index("ix_maintenance_work_orders_site_state", "site_id", "state"),)


class WalkTest(Base):
    """A technician's test window for a zone: its sensors are on hold and must each report."""

    __tablename__ = "maintenance_walk_tests"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63), index=True)
    zone_id: Mapped[str] = mapped_column(String(63))
    state: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_by: Mapped[str] = mapped_column(String(128))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class WalkTestDevice(Base):
    """One device under a walk test: when it reported, and whether it passed."""

    __tablename__ = "maintenance_walk_test_devices"

    walk_test_id: Mapped[str] = mapped_column(
        ForeignKey("maintenance_walk_tests.id", name="fk_maintenance_walk_test_devices_test"),
        primary_key=True,
    )
    device_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    result: Mapped[str] = mapped_column(String(16), default="pending")


class RecordingCheck(Base):
    """Proof of recording of one camera over a period: coverage, gaps, and what was unsure."""

    __tablename__ = "maintenance_recording_checks"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    camera_id: Mapped[str] = mapped_column(String(63))
    source: Mapped[str] = mapped_column(String(16))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(16))
    coverage_pct: Mapped[float | None] = mapped_column(Float, default=None)
    recorded_s: Mapped[float | None] = mapped_column(Float, default=None)
    segments: Mapped[int] = mapped_column(Integer, default=0)
    gaps: Mapped[list[list[float]]] = mapped_column(JSONType, default=list)
    warnings: Mapped[list[str]] = mapped_column(JSONType, default=list)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    checked_by: Mapped[str] = mapped_column(String(128))

    __table_args__ = (Index("ix_maintenance_recording_checks_site_camera", "site_id", "camera_id"),)


class ViewCheck(Base):
    """A camera snapshot compared with its approved reference view."""

    __tablename__ = "maintenance_view_checks"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    camera_id: Mapped[str] = mapped_column(String(63))
    verdict: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(String(300))
    scores: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    snapshot_file: Mapped[str | None] = mapped_column(String(200), default=None)
    reference_file: Mapped[str | None] = mapped_column(String(200), default=None)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    checked_by: Mapped[str] = mapped_column(String(128))

    __table_args__ = (Index("ix_maintenance_view_checks_site_camera", "site_id", "camera_id"),)

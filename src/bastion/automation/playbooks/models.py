"""ORM rows of playbook runs, their timed steps and muster roll calls.

Form answers, operator notes and people's names are personal data: they live in
encrypted columns and never reach the ledger or the logs.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bastion.store.base import Base, BigIntPK, UTCDateTime
from bastion.store.crypto import EncryptedString

RUN_STATES = ("active", "finished", "cancelled")
STEP_STATES = ("pending", "done", "skipped", "failed", "simulated")
MUSTER_STATES = ("unaccounted", "safe", "missing")


class PlaybookRun(Base):
    """One run (or drill) of a playbook."""

    __tablename__ = "playbook_runs"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    playbook_id: Mapped[str] = mapped_column(String(64))
    playbook_name: Mapped[str] = mapped_column(String(120))
    site_id: Mapped[str | None] = mapped_column(String(63))
    zone_id: Mapped[str | None] = mapped_column(String(63))
    drill: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="active")
    trigger_event_id: Mapped[str | None] = mapped_column(String(26))
    trigger_type: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_by: Mapped[str] = mapped_column(String(128))
    context_id: Mapped[str] = mapped_column(String(26))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(EncryptedString())
    muster_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    steps: Mapped[list[PlaybookStep]] = relationship(
        back_populates="run",
        cascade="all, delete-orphan",
        order_by="PlaybookStep.position",
        lazy="selectin",
    )

    __table_args__ = (
        Index("ix_playbook_runs_status", "status", "playbook_id"),
        Index("ix_playbook_runs_started", "started_at"),
    )


class PlaybookStep(Base):
    """One step of a run, timed from the start of the run."""

    __tablename__ = "playbook_steps"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("playbook_runs.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    step_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    after: Mapped[bool] = mapped_column(Boolean, default=False)
    target_s: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    elapsed_s: Mapped[float | None] = mapped_column(Float)
    completed_by: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[str] = mapped_column(String(2000), default="")
    notify_run_id: Mapped[str | None] = mapped_column(String(26))
    note: Mapped[str | None] = mapped_column(EncryptedString())
    answers: Mapped[str | None] = mapped_column(EncryptedString())

    run: Mapped[PlaybookRun] = relationship(back_populates="steps")

    __table_args__ = (UniqueConstraint("run_id", "step_id"),)


class MusterEntry(Base):
    """A person expected at the muster point: where they were last seen and their mark."""

    __tablename__ = "playbook_muster"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("playbook_runs.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(EncryptedString())
    source: Mapped[str] = mapped_column(String(32))
    zone_id: Mapped[str | None] = mapped_column(String(63))
    status: Mapped[str] = mapped_column(String(16), default="unaccounted")
    marked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    marked_by: Mapped[str | None] = mapped_column(String(128))
    elapsed_s: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (UniqueConstraint("run_id", "subject"),)

"""ORM models of the alarms domain: incidents, alarms, procedure step log and evidence."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bastion.store.base import Base, BigIntPK, JSONType, UTCDateTime

ALARM_STATES = ("raised", "acknowledged", "investigating", "resolved", "false_alarm")
OPEN_STATES = ("raised", "acknowledged", "investigating")


class Incident(Base):
    """A group of alarms of one cause, near its first zone, within a window from its opening."""

    __tablename__ = "alarm_incidents"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str | None] = mapped_column(String(63))
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="open")
    priority: Mapped[int] = mapped_column(Integer)
    zone_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opened_by: Mapped[str] = mapped_column(String(128))
    context_id: Mapped[str] = mapped_column(String(26))
    cause: Mapped[str | None] = mapped_column(String(100))
    origin_zone_id: Mapped[str | None] = mapped_column(String(63))

    __table_args__ = (Index("ix_alarm_incidents_status_activity", "status", "last_activity_at"),)


class Alarm(Base):
    """One alarm raised for operators to work."""

    __tablename__ = "alarms"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str | None] = mapped_column(String(63))
    alarm_type: Mapped[str] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(String(500))
    zone_id: Mapped[str | None] = mapped_column(String(63))
    door_id: Mapped[str | None] = mapped_column(String(63))
    device_id: Mapped[str | None] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16), default="raised")
    source_event_id: Mapped[str | None] = mapped_column(String(26))
    raised_event_id: Mapped[str] = mapped_column(String(26), unique=True)
    context_id: Mapped[str] = mapped_column(String(26))
    raised_by: Mapped[str] = mapped_column(String(128))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    last_occurrence_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))
    investigating_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by: Mapped[str | None] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text(), default="")
    ack_seconds: Mapped[float | None] = mapped_column(Float())
    resolve_seconds: Mapped[float | None] = mapped_column(Float())
    sop_id: Mapped[str | None] = mapped_column(String(64))
    incident_id: Mapped[str | None] = mapped_column(
        String(26), ForeignKey("alarm_incidents.id", ondelete="SET NULL")
    )

    __table_args__ = (
        Index("ix_alarms_state_priority", "state", "priority"),
        Index("ix_alarms_source_event", "source_event_id"),
        Index("ix_alarms_incident", "incident_id"),
        Index("ix_alarms_type_raised", "alarm_type", "raised_at"),
    )


class AlarmStep(Base):
    """One logged procedure step: answer or skip reason, operator and time."""

    __tablename__ = "alarm_sop_steps"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    alarm_id: Mapped[str] = mapped_column(String(26), ForeignKey("alarms.id", ondelete="CASCADE"))
    step_id: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    answer: Mapped[str] = mapped_column(Text(), default="")
    reason: Mapped[str] = mapped_column(Text(), default="")
    operator: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    event_id: Mapped[str] = mapped_column(String(26))

    __table_args__ = (Index("ix_alarm_sop_steps_alarm", "alarm_id", "id"),)


class AlarmEvidence(Base):
    """Evidence attached to an alarm: an event of its chain, a camera bookmark, a note."""

    __tablename__ = "alarm_evidence"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    alarm_id: Mapped[str] = mapped_column(String(26), ForeignKey("alarms.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_alarm_evidence_alarm", "alarm_id"),)

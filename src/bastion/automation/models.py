"""ORM models of the automation domain: stored rules, run traces, zone arming and bypasses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bastion.store.base import Base, BigIntPK, JSONType, UTCDateTime


class StoredRule(Base):
    """A rule created through the API (rules from YAML files are not stored)."""

    __tablename__ = "automation_rules"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(128))


class RuleTrace(Base):
    """The trace of one rule evaluation: trigger, each condition and action, outcome."""

    __tablename__ = "automation_traces"

    run_id: Mapped[str] = mapped_column(String(26), primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str | None] = mapped_column(String(26))
    context_id: Mapped[str] = mapped_column(String(26))
    parent_id: Mapped[str | None] = mapped_column(String(26))
    outcome: Mapped[str] = mapped_column(String(32))
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    error: Mapped[str] = mapped_column(Text(), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_automation_traces_rule_started", "rule_id", "started_at"),
        Index("ix_automation_traces_context", "context_id"),
    )


class ZoneArming(Base):
    """The arming state of one zone."""

    __tablename__ = "zone_arming"

    site_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    zone_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime())
    exit_delay_s: Mapped[float] = mapped_column(Float, default=0.0)
    entry_delay_s: Mapped[float] = mapped_column(Float, default=0.0)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    changed_by: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text(), default="")


class SensorBypass(Base):
    """A faulty sensor taken out of service, with a reason and an expiry."""

    __tablename__ = "sensor_bypasses"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(String(63))
    device_id: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text())
    until: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_sensor_bypasses_device", "site_id", "device_id"),)

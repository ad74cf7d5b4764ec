"""ORM rows of the compliance domain: settings, records, overrides, holds, actions, runs.

Who did something, attached documents and free-text notes are personal data and live in
encrypted columns; the ledger events carry ids and kinds only.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bastion.store.base import Base, JSONType, UTCDateTime
from bastion.store.crypto import EncryptedString


class ComplianceSettings(Base):
    """A site's state, licence type and compliance profile (camera, power, retention facts)."""

    __tablename__ = "compliance_settings"

    site_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(2), default=None)
    license: Mapped[str | None] = mapped_column(String(16), default=None)
    profile: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(128))


class ComplianceRecord(Base):
    """A dated fact the checks read: a count, a review, an incident, an attestation."""

    __tablename__ = "compliance_records"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    kind: Mapped[str] = mapped_column(String(40))
    rule: Mapped[str | None] = mapped_column(String(20), default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    by_name: Mapped[str | None] = mapped_column(EncryptedString(), default=None)
    document: Mapped[str | None] = mapped_column(EncryptedString(), default=None)
    note: Mapped[str | None] = mapped_column(EncryptedString(), default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(128))

    __table_args__ = (Index("ix_compliance_records_site_kind", "site_id", "kind", "at"),)


class ComplianceOverride(Base):
    """A site's change to one rule's parameters, with the reason."""

    __tablename__ = "compliance_overrides"

    site_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    rule: Mapped[str] = mapped_column(String(20), primary_key=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    reason: Mapped[str] = mapped_column(Text())
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())
    set_by: Mapped[str] = mapped_column(String(128))


class LegalHold(Base):
    """A hold that stops the purge of one record class at a site until released."""

    __tablename__ = "compliance_holds"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    record_class: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(EncryptedString())
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    placed_by: Mapped[str] = mapped_column(String(128))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    released_by: Mapped[str | None] = mapped_column(String(128), default=None)


class CorrectiveAction(Base):
    """A finding's fix, owned by someone and due on a date, tracked to closure."""

    __tablename__ = "compliance_actions"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    rule: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(EncryptedString())
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    opened_by: Mapped[str] = mapped_column(String(128))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    closed_by: Mapped[str | None] = mapped_column(String(128), default=None)
    note: Mapped[str | None] = mapped_column(EncryptedString(), default=None)

    __table_args__ = (Index("ix_compliance_actions_site", "site_id", "status"),)


class ComplianceRun(Base):
    """The outcome of one check of a site (kept for the dashboard and for change alarms)."""

    __tablename__ = "compliance_runs"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    state: Mapped[str] = mapped_column(String(2))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    score: Mapped[int] = mapped_column(Integer)
    counts: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)

    __table_args__ = (Index("ix_compliance_runs_site_at", "site_id", "at"),)

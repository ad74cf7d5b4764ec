"""ORM rows of the cash domain: containers, movements, tills, counts, POS data, pickups, tasks.

Money is always integer cents. A container's balance is never a column anyone sets: it
is the running balance of its entries, and entries are only written by
:func:`bastion.cash.movements.post`. Notes, guard names and identity numbers, raw
rejected POS lines and Form 8300 details are personal data and live in encrypted columns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bastion.store.base import Base, BigIntPK, JSONType, UTCDateTime
from bastion.store.crypto import EncryptedString

Cents = BigInteger


class CashContainer(Base):
    """A place cash sits: a register (till), a drop safe, the vault, or a deposit bag."""

    __tablename__ = "cash_containers"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default="active")
    zone_id: Mapped[str | None] = mapped_column(String(63), default=None)
    camera_id: Mapped[str | None] = mapped_column(String(63), default=None)
    terminal: Mapped[str | None] = mapped_column(String(64), default=None)
    limit_cents: Mapped[int | None] = mapped_column(Cents, default=None)
    bag_number: Mapped[str | None] = mapped_column(String(64), default=None)
    seal_number: Mapped[str | None] = mapped_column(String(64), default=None)
    pickup_id: Mapped[str | None] = mapped_column(String(26), default=None)
    over_limit_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    alarm_raised: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(128))

    __table_args__ = (
        UniqueConstraint("site_id", "terminal", name="uq_cash_containers_terminal"),
        UniqueConstraint("site_id", "seal_number", name="uq_cash_containers_seal"),
        Index("ix_cash_containers_site_kind", "site_id", "kind"),
    )


class CashMovement(Base):
    """One movement of cash (its ledger event has the same id's context)."""

    __tablename__ = "cash_movements"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    kind: Mapped[str] = mapped_column(String(24))
    container_id: Mapped[str] = mapped_column(String(26))
    counterpart_id: Mapped[str | None] = mapped_column(String(26), default=None)
    amount_cents: Mapped[int] = mapped_column(Cents)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(128))
    context_id: Mapped[str] = mapped_column(String(26))
    event_id: Mapped[str] = mapped_column(String(26))
    person_id: Mapped[str | None] = mapped_column(String(26), default=None)
    session_id: Mapped[str | None] = mapped_column(String(26), default=None)
    reference: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)

    __table_args__ = (
        Index("ix_cash_movements_site_at", "site_id", "at"),
        Index("ix_cash_movements_container", "container_id", "at"),
    )


class CashEntry(Base):
    """One leg of a movement on one container, with the running balance after it."""

    __tablename__ = "cash_entries"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    movement_id: Mapped[str] = mapped_column(
        String(26), ForeignKey("cash_movements.id", ondelete="CASCADE")
    )
    container_id: Mapped[str] = mapped_column(String(26))
    delta_cents: Mapped[int] = mapped_column(Cents)
    balance_after_cents: Mapped[int] = mapped_column(Cents)
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_cash_entries_container", "container_id", "id"),)


class TillSession(Base):
    """One cashier's shift on one register: float in, sales, drops, closing count."""

    __tablename__ = "cash_till_sessions"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    register_id: Mapped[str] = mapped_column(String(26))
    person_id: Mapped[str] = mapped_column(String(26))
    status: Mapped[str] = mapped_column(String(16), default="open")
    float_cents: Mapped[int] = mapped_column(Cents)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    opened_by: Mapped[str] = mapped_column(String(128))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    closing_count_id: Mapped[str | None] = mapped_column(String(26), default=None)

    __table_args__ = (Index("ix_cash_till_sessions_register", "register_id", "status"),)


class CashCount(Base):
    """A blind count of a container; dual when the site asks for two counters."""

    __tablename__ = "cash_counts"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    container_id: Mapped[str] = mapped_column(String(26))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    dual: Mapped[bool] = mapped_column(Boolean)
    round: Mapped[int] = mapped_column(Integer, default=1)
    book_cents: Mapped[int] = mapped_column(Cents)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_by: Mapped[str] = mapped_column(String(128))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    counted_cents: Mapped[int | None] = mapped_column(Cents, default=None)
    variance_cents: Mapped[int | None] = mapped_column(Cents, default=None)
    threshold_cents: Mapped[int | None] = mapped_column(Cents, default=None)
    flags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    session_id: Mapped[str | None] = mapped_column(String(26), default=None)
    playbook_run_id: Mapped[str | None] = mapped_column(String(26), default=None)
    playbook_step_id: Mapped[str | None] = mapped_column(String(64), default=None)

    __table_args__ = (
        Index("ix_cash_counts_site_status", "site_id", "status"),
        Index("ix_cash_counts_container", "container_id", "started_at"),
        Index("ix_cash_counts_playbook", "playbook_run_id"),
    )


class CountSubmission(Base):
    """One counter's blind figure for one round of a count."""

    __tablename__ = "cash_count_submissions"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    count_id: Mapped[str] = mapped_column(String(26), ForeignKey("cash_counts.id"))
    round: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[str | None] = mapped_column(String(26), default=None)
    amount_cents: Mapped[int] = mapped_column(Cents)
    denominations: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)
    badged: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("count_id", "round", "user_id", name="uq_cash_count_submissions_counter"),
    )


class VarianceReview(Base):
    """A count variance over the site's threshold, climbing bookkeeper → manager → incident."""

    __tablename__ = "cash_variance_reviews"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    count_id: Mapped[str] = mapped_column(String(26), unique=True)
    container_id: Mapped[str] = mapped_column(String(26))
    variance_cents: Mapped[int] = mapped_column(Cents)
    threshold_cents: Mapped[int] = mapped_column(Cents)
    level: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    outcome: Mapped[str | None] = mapped_column(String(16), default=None)
    note: Mapped[str | None] = mapped_column(EncryptedString(), default=None)
    alarm_id: Mapped[str | None] = mapped_column(String(26), default=None)
    camera_id: Mapped[str | None] = mapped_column(String(63), default=None)
    clip_url: Mapped[str | None] = mapped_column(String(500), default=None)
    clip_from: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    clip_to: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    closed_by: Mapped[str | None] = mapped_column(String(128), default=None)

    __table_args__ = (Index("ix_cash_variance_reviews_status", "status", "due_at"),)


class PosBatch(Base):
    """One ingest of POS records: where from, how many, and the digest of what was kept."""

    __tablename__ = "cash_pos_batches"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    source: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(128))
    accepted: Mapped[int] = mapped_column(Integer)
    duplicates: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))


class PosTransaction(Base):
    """One POS transaction or drawer event, as stored (one row per POS id per site).

    A year of a busy store is millions of rows, so time is epoch milliseconds and the
    kind a small code: both load straight into the exception engine's arrays.
    """

    __tablename__ = "cash_pos_transactions"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(String(63))
    pos_id: Mapped[str] = mapped_column(String(64))
    terminal: Mapped[str] = mapped_column(String(64))
    register_id: Mapped[str] = mapped_column(String(26))
    cashier: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[str | None] = mapped_column(String(26), default=None)
    at_ms: Mapped[int] = mapped_column(BigInteger)
    kind_code: Mapped[int] = mapped_column(SmallInteger)
    total_cents: Mapped[int] = mapped_column(Cents)
    cash_cents: Mapped[int] = mapped_column(Cents)
    discount_cents: Mapped[int] = mapped_column(Cents)
    original_id: Mapped[str | None] = mapped_column(String(64), default=None)
    customer_code: Mapped[int | None] = mapped_column(BigInteger, default=None)
    reason: Mapped[str | None] = mapped_column(String(200), default=None)
    detail: Mapped[str | None] = mapped_column(Text(), default=None)
    batch_id: Mapped[str] = mapped_column(String(26))

    __table_args__ = (
        UniqueConstraint("site_id", "pos_id", name="uq_cash_pos_transactions_pos_id"),
        Index("ix_cash_pos_transactions_site_at", "site_id", "at_ms"),
    )


class PosRejection(Base):
    """A POS record refused at ingest, kept with its reason and raw text for review."""

    __tablename__ = "cash_pos_rejections"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(String(63))
    batch_id: Mapped[str] = mapped_column(String(26))
    source: Mapped[str] = mapped_column(String(32))
    line: Mapped[str] = mapped_column(String(64))
    pos_id: Mapped[str | None] = mapped_column(String(64), default=None)
    reason: Mapped[str] = mapped_column(String(300))
    raw: Mapped[str] = mapped_column(EncryptedString())
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_cash_pos_rejections_site_at", "site_id", "at"),)


class PosException(Base):
    """A review item raised by an exception rule, with the register camera's clip."""

    __tablename__ = "cash_pos_exceptions"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    rule: Mapped[str] = mapped_column(String(32))
    pos_id: Mapped[str] = mapped_column(String(64))
    register_id: Mapped[str | None] = mapped_column(String(26), default=None)
    terminal: Mapped[str | None] = mapped_column(String(64), default=None)
    cashier: Mapped[str | None] = mapped_column(String(64), default=None)
    person_id: Mapped[str | None] = mapped_column(String(26), default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    amount_cents: Mapped[int] = mapped_column(Cents, default=0)
    summary: Mapped[str] = mapped_column(String(300))
    camera_id: Mapped[str | None] = mapped_column(String(63), default=None)
    clip_url: Mapped[str | None] = mapped_column(String(500), default=None)
    clip_from: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    clip_to: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    status: Mapped[str] = mapped_column(String(16), default="open")
    reviewed_by: Mapped[str | None] = mapped_column(String(128), default=None)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    note: Mapped[str | None] = mapped_column(EncryptedString(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("site_id", "rule", "pos_id", name="uq_cash_pos_exceptions_rule"),
        Index("ix_cash_pos_exceptions_status", "site_id", "status", "at"),
        Index("ix_cash_pos_exceptions_cashier", "site_id", "cashier", "at"),
    )


class CashierCode(Base):
    """Which person a POS cashier code (employee number) belongs to, per site."""

    __tablename__ = "cash_cashier_codes"

    site_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(26))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Carrier(Base):
    """An armored-car or courier company allowed to collect deposits, with its code word."""

    __tablename__ = "cash_carriers"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    company: Mapped[str] = mapped_column(String(120))
    code_word_key: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(128))


class Pickup(Base):
    """A scheduled armored pickup; only pickup planners may read its time."""

    __tablename__ = "cash_pickups"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    carrier_id: Mapped[str] = mapped_column(String(26))
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    slot: Mapped[int] = mapped_column(Integer)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    code_key: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(EncryptedString())
    code_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    verified_by: Mapped[str | None] = mapped_column(String(128), default=None)
    guard_name: Mapped[str | None] = mapped_column(EncryptedString(), default=None)
    guard_id_number: Mapped[str | None] = mapped_column(EncryptedString(), default=None)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    total_cents: Mapped[int | None] = mapped_column(Cents, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(128))

    __table_args__ = (Index("ix_cash_pickups_site_time", "site_id", "scheduled_at"),)


class PickupAttempt(Base):
    """One attempt to verify a carrier at a pickup (refusals are kept)."""

    __tablename__ = "cash_pickup_attempts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    pickup_id: Mapped[str] = mapped_column(String(26), ForeignKey("cash_pickups.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200))
    guard_name: Mapped[str | None] = mapped_column(EncryptedString(), default=None)
    actor: Mapped[str] = mapped_column(String(128))


class BankConfirmation(Base):
    """The bank's confirmation of one deposit bag, reconciled against what left."""

    __tablename__ = "cash_bank_confirmations"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    bag_id: Mapped[str] = mapped_column(String(26))
    amount_cents: Mapped[int] = mapped_column(Cents)
    expected_cents: Mapped[int] = mapped_column(Cents)
    reference: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(128))


class CashTask(Base):
    """A compliance task the cash domain opens: a regulator notice or a Form 8300.

    Kept small on purpose: the compliance domain will own notices; until then the
    deadline, the state it comes from and what caused it live here.
    """

    __tablename__ = "cash_tasks"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    kind: Mapped[str] = mapped_column(String(24))
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(EncryptedString())
    state: Mapped[str | None] = mapped_column(String(2), default=None)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    status: Mapped[str] = mapped_column(String(16), default="open")
    source: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    done_by: Mapped[str | None] = mapped_column(String(128), default=None)

    __table_args__ = (UniqueConstraint("site_id", "kind", "source", name="uq_cash_tasks_source"),)


class CashSiteSettings(Base):
    """A site's cash settings (only the values changed from the defaults are stored)."""

    __tablename__ = "cash_site_settings"

    site_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(128))

"""ORM rows of the inventory domain.

Quantities are integers of ten-thousandths of the row's unit (see :mod:`.units`). A
package's quantity is never set directly: :func:`bastion.inventory.movements.post` writes
an append-only movement (and its ledger event) and moves the quantity with it. Notes typed
by people (adjustment reasons, destruction notes) are encrypted at rest; rejected import
rows too, since they may carry names.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from bastion.store.base import Base, BigIntPK, JSONType, UTCDateTime
from bastion.store.crypto import EncryptedString

# The rows of the unnoted-adjustment index (the reconciliation's required-note check).
UNNOTED = "kind = 'adjust' AND note IS NULL"

Qty = BigInteger


class InvLocation(Base):
    """A room or area where product sits, mapped to one of the site's zones."""

    __tablename__ = "inv_locations"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(120))
    zone_id: Mapped[str | None] = mapped_column(String(63), default=None)
    kind: Mapped[str] = mapped_column(String(16), default="storage")
    is_quarantine: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("site_id", "name", name="uq_inv_locations_name"),)


class InvItem(Base):
    """A product: what a package holds (category, unit, unit weight, value)."""

    __tablename__ = "inv_items"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(160))
    category: Mapped[str] = mapped_column(String(80), default="")
    unit: Mapped[str] = mapped_column(String(8))
    unit_weight_mg: Mapped[int | None] = mapped_column(BigInteger, default=None)
    strain: Mapped[str | None] = mapped_column(String(120), default=None)
    unit_value_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("site_id", "name", name="uq_inv_items_name"),)


class InvPackage(Base):
    """A package (lot) under one tag: quantity, unit, lineage, flags."""

    __tablename__ = "inv_packages"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    tag: Mapped[str] = mapped_column(String(40))
    item_id: Mapped[str] = mapped_column(String(26))
    location_id: Mapped[str | None] = mapped_column(String(26), default=None)
    quantity: Mapped[int] = mapped_column(Qty, default=0)
    initial_quantity: Mapped[int] = mapped_column(Qty, default=0)
    unit: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="active")
    on_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    source_tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    harvest_id: Mapped[str | None] = mapped_column(String(26), default=None)
    external_ids: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("tag", name="uq_inv_packages_tag"),
        Index("ix_inv_packages_site_location", "site_id", "location_id"),
    )


class InvPlantBatch(Base):
    """A group of young plants planted together, with the state's count fields."""

    __tablename__ = "inv_plant_batches"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(8), default="Clone")
    strain: Mapped[str] = mapped_column(String(120))
    location_id: Mapped[str | None] = mapped_column(String(26), default=None)
    count: Mapped[int] = mapped_column(Integer, default=0)
    live_count: Mapped[int] = mapped_column(Integer, default=0)
    packaged_count: Mapped[int] = mapped_column(Integer, default=0)
    harvested_count: Mapped[int] = mapped_column(Integer, default=0)
    destroyed_count: Mapped[int] = mapped_column(Integer, default=0)
    planted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    external_ids: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)

    __table_args__ = (UniqueConstraint("site_id", "name", name="uq_inv_plant_batches_name"),)


class InvPlant(Base):
    """One tagged plant and its growth phase."""

    __tablename__ = "inv_plants"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    tag: Mapped[str] = mapped_column(String(40))
    batch_id: Mapped[str | None] = mapped_column(String(26), default=None)
    strain: Mapped[str] = mapped_column(String(120))
    phase: Mapped[str] = mapped_column(String(16), default="Vegetative")
    location_id: Mapped[str | None] = mapped_column(String(26), default=None)
    status: Mapped[str] = mapped_column(String(16), default="active")
    harvest_id: Mapped[str | None] = mapped_column(String(26), default=None)
    planted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    external_ids: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)

    __table_args__ = (UniqueConstraint("tag", name="uq_inv_plants_tag"),)


class InvHarvest(Base):
    """A harvest: wet weight in, waste and packaged weight out, the rest still drying."""

    __tablename__ = "inv_harvests"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(120))
    strain: Mapped[str] = mapped_column(String(120), default="")
    unit: Mapped[str] = mapped_column(String(8), default="g")
    wet_weight: Mapped[int] = mapped_column(Qty, default=0)
    waste_weight: Mapped[int] = mapped_column(Qty, default=0)
    packaged_weight: Mapped[int] = mapped_column(Qty, default=0)
    current_weight: Mapped[int] = mapped_column(Qty, default=0)
    plant_count: Mapped[int] = mapped_column(Integer, default=0)
    location_id: Mapped[str | None] = mapped_column(String(26), default=None)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    external_ids: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)

    __table_args__ = (UniqueConstraint("site_id", "name", name="uq_inv_harvests_name"),)


class InvMovement(Base):
    """One append-only change of a package (its ledger event carries the same id).

    ``delta`` is signed in the package's unit; ``flags`` are the security findings at
    the time (``no_badge``, ``zone_armed``, ``unconfirmed``) and ``clip`` the camera
    window of the zone. A movement needing a second person stays ``pending`` (quantity
    unchanged) until a different, badged person confirms it.
    """

    __tablename__ = "inv_movements"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    kind: Mapped[str] = mapped_column(String(16))
    package_id: Mapped[str] = mapped_column(String(26))
    tag: Mapped[str] = mapped_column(String(40))
    delta: Mapped[int] = mapped_column(Qty, default=0)
    unit: Mapped[str] = mapped_column(String(8))
    quantity_after: Mapped[int] = mapped_column(Qty, default=0)
    from_location: Mapped[str | None] = mapped_column(String(26), default=None)
    to_location: Mapped[str | None] = mapped_column(String(26), default=None)
    reason: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str | None] = mapped_column(EncryptedString(), default=None)
    method: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    person_id: Mapped[str | None] = mapped_column(String(26), default=None)
    witness_person_id: Mapped[str | None] = mapped_column(String(26), default=None)
    status: Mapped[str] = mapped_column(String(12), default="posted")
    flags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    clip: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    reference: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    event_id: Mapped[str] = mapped_column(String(26))

    __table_args__ = (
        Index("ix_inv_movements_site_at", "site_id", "at"),
        Index("ix_inv_movements_package", "package_id", "at"),
        # For the reconciliation: adjustments by kind and time (with reason and actor, so
        # the weekly pattern check reads the index alone); each package's log sum read
        # from the index alone (it holds every column the lineage check needs).
        Index("ix_inv_movements_kind", "site_id", "kind", "at", "reason", "actor"),
        Index("ix_inv_movements_log", "site_id", "package_id", "status", "delta"),
        # Adjustments without a note only (a year can hold tens of thousands), holding
        # every column the required-note check reads, so it never touches the table.
        Index(
            "ix_inv_movements_unnoted",
            "site_id",
            "kind",
            "at",
            "reason",
            "tag",
            "id",
            "note",
            sqlite_where=text(UNNOTED),
            postgresql_where=text(UNNOTED),
        ),
    )


class InvCount(Base):
    """A blind physical count of a sample of packages, by counters with a witness."""

    __tablename__ = "inv_counts"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    day: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12), default="open")
    counters: Mapped[list[int]] = mapped_column(JSONType, default=list)
    witness_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    seed: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_by: Mapped[str] = mapped_column(String(128))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class InvCountLine(Base):
    """One package to count: the book quantity frozen at start (never shown), the count."""

    __tablename__ = "inv_count_lines"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    count_id: Mapped[str] = mapped_column(String(26))
    package_id: Mapped[str] = mapped_column(String(26))
    tag: Mapped[str] = mapped_column(String(40))
    location_id: Mapped[str | None] = mapped_column(String(26), default=None)
    system_qty: Mapped[int] = mapped_column(Qty)
    counted_qty: Mapped[int | None] = mapped_column(Qty, default=None)
    counted_by: Mapped[int | None] = mapped_column(Integer, default=None)
    counted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    __table_args__ = (Index("ix_inv_count_lines_count", "count_id"),)


class InvTransfer(Base):
    """A manifest: packages shipped from one licence to another."""

    __tablename__ = "inv_transfers"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    manifest_no: Mapped[str] = mapped_column(String(40))
    direction: Mapped[str] = mapped_column(String(8))
    shipper_license: Mapped[str] = mapped_column(String(40), default="")
    recipient_license: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(String(16), default="in_transit")
    departed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    external_ids: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)

    __table_args__ = (UniqueConstraint("site_id", "manifest_no", name="uq_inv_transfers_manifest"),)


class InvTransferLine(Base):
    """One package on a manifest: shipped and received quantity and its state."""

    __tablename__ = "inv_transfer_lines"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    transfer_id: Mapped[str] = mapped_column(String(26))
    tag: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(8))
    shipped_qty: Mapped[int] = mapped_column(Qty)
    received_qty: Mapped[int | None] = mapped_column(Qty, default=None)
    state: Mapped[str] = mapped_column(String(16), default="Shipped")

    __table_args__ = (Index("ix_inv_transfer_lines_transfer", "transfer_id"),)


class InvSaleLine(Base):
    """One sold line of one receipt, as the POS or the state system reported it."""

    __tablename__ = "inv_sale_lines"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(String(63))
    source: Mapped[str] = mapped_column(String(8))
    receipt: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    day: Mapped[str] = mapped_column(String(10))
    tag: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[int] = mapped_column(Qty)
    unit: Mapped[str] = mapped_column(String(8))
    price_cents: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        UniqueConstraint("site_id", "source", "receipt", "tag", name="uq_inv_sale_lines_line"),
        # Covers the daily POS-vs-state comparison, so it never reads the table.
        Index("ix_inv_sale_lines_daily", "site_id", "day", "tag", "source", "quantity", "unit"),
        Index("ix_inv_sale_lines_at", "site_id", "source", "at"),
    )


class InvFinding(Base):
    """A reconciliation or security finding with its evidence, threshold and outcome."""

    __tablename__ = "inv_findings"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    check: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(8))
    message: Mapped[str] = mapped_column(String(500))
    threshold: Mapped[str] = mapped_column(String(200), default="")
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(String(12), default="open")
    alarm_id: Mapped[str | None] = mapped_column(String(26), default=None)
    notice_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("site_id", "check", "key", name="uq_inv_findings_key"),
        Index("ix_inv_findings_site_status", "site_id", "status"),
    )


class InvImport(Base):
    """One imported or exported file: its digest (imports are idempotent) and outcome."""

    __tablename__ = "inv_imports"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    source: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(24))
    digest: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(12))
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(String(500), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(128))

    __table_args__ = (Index("ix_inv_imports_site_digest", "site_id", "digest"),)


class InvRejectedRow(Base):
    """A record a file import refused, kept (encrypted) for review with the reason."""

    __tablename__ = "inv_rejected_rows"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    import_id: Mapped[str] = mapped_column(String(26))
    site_id: Mapped[str] = mapped_column(String(63))
    record: Mapped[str] = mapped_column(String(120))
    field: Mapped[str] = mapped_column(String(80))
    message: Mapped[str] = mapped_column(String(500))
    raw: Mapped[str] = mapped_column(EncryptedString())

    __table_args__ = (Index("ix_inv_rejected_rows_import", "import_id"),)


class InvTrackingUser(Base):
    """A user of the state tracking system, as its employee list reported (for roster checks)."""

    __tablename__ = "inv_tracking_users"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(EncryptedString())
    license_no: Mapped[str] = mapped_column(String(64), default="")
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())

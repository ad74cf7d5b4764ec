"""Seed-to-sale inventory: locations, items, packages, plant batches, plants, harvests,
the append-only movement log, blind cycle counts, manifests, sale lines, findings,
state-system imports with their rejected rows, and tracking-system users.

Revision ID: 0120_inventory
Revises: 0160_cluster
"""

import sqlalchemy as sa
from alembic import op

from bastion.store.base import BigIntPK, UTCDateTime

revision = "0120_inventory"
down_revision = "0160_cluster"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the inventory tables."""
    op.create_table(
        "inv_count_lines",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("count_id", sa.String(length=26), nullable=False),
        sa.Column("package_id", sa.String(length=26), nullable=False),
        sa.Column("tag", sa.String(length=40), nullable=False),
        sa.Column("location_id", sa.String(length=26), nullable=True),
        sa.Column("system_qty", sa.BigInteger(), nullable=False),
        sa.Column("counted_qty", sa.BigInteger(), nullable=True),
        sa.Column("counted_by", sa.Integer(), nullable=True),
        sa.Column("counted_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inv_count_lines")),
    )
    op.create_index("ix_inv_count_lines_count", "inv_count_lines", ["count_id"], unique=False)
    op.create_table(
        "inv_counts",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("site_id", sa.String(length=63), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("counters", sa.JSON(), nullable=False),
        sa.Column("witness_user_id", sa.Integer(), nullable=True),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("started_by", sa.String(length=128), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inv_counts")),
    )
    op.create_table(
        "inv_findings",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("site_id", sa.String(length=63), nullable=False),
        sa.Column("check", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("threshold", sa.String(length=200), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("alarm_id", sa.String(length=26), nullable=True),
        sa.Column("notice_due_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inv_findings")),
        sa.UniqueConstraint("site_id", "check", "key", name="uq_inv_findings_key"),
    )
    op.create_index(
        "ix_inv_findings_site_status", "inv_findings", ["site_id", "status"], unique=False
    )
    op.create_table(
        "inv_harvests",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("site_id", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("strain", sa.String(length=120), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("wet_weight", sa.BigInteger(), nullable=False),
        sa.Column("waste_weight", sa.BigInteger(), nullable=False),
        sa.Column("packaged_weight", sa.BigInteger(), nullable=False),
        sa.Column("current_weight", sa.BigInteger(), nullable=False),
        sa.Column("plant_count", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.String(length=26), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("external_ids", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inv_harvests")),
        sa.UniqueConstraint("site_id", "name", name="uq_inv_harvests_name"),
    )
    op.create_table(
        "inv_imports",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("site_id", sa.String(length=63), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inv_imports")),
    )
    op.create_index(
        "ix_inv_imports_site_digest", "inv_imports", ["site_id", "digest"], unique=False
    )
    op.create_table(
        "inv_items",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("site_id", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("category", sa.String(length=80), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("unit_weight_mg", sa.BigInteger(), nullable=True),
        sa.Column("strain", sa.String(length=120), nullable=True),
        sa.Column("unit_value_cents", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inv_items")),
        sa.UniqueConstraint("site_id", "name", name="uq_inv_items_name"),
    )
    op.create_table(
        "inv_locations",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("site_id", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("zone_id", sa.String(length=63), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("is_quarantine", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inv_locations")),
        sa.UniqueConstraint("site_id", "name", name="uq_inv_locations_name"),
    )
    op.create_table(
        "inv_movements",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("site_id", sa.String(length=63), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("package_id", sa.String(length=26), nullable=False),
        sa.Column("tag", sa.String(length=40), nullable=False),
        sa.Column("delta", sa.BigInteger(), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("quantity_after", sa.BigInteger(), nullable=False),
        sa.Column("from_location", sa.String(length=26), nullable=True),
        sa.Column("to_location", sa.String(length=26), nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.String(length=26), nullable=True),
        sa.Column("witness_person_id", sa.String(length=26), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("clip", sa.JSON(), nullable=True),
        sa.Column("reference", sa.JSON(), nullable=False),
        sa.Column("event_id", sa.String(length=26), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inv_movements")),
    )
    op.create_index("ix_inv_movements_package", "inv_movements", ["package_id", "at"], unique=False)
    op.create_index("ix_inv_movements_site_at", "inv_movements", ["site_id", "at"], unique=False)
    op.create_table(
        "inv_packages",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("site_id", sa.String(length=63), nullable=False),
        sa.Column("tag", sa.String(length=40), nullable=False),
        sa.Column("item_id", sa.String(length=26), nullable=False),
        sa.Column("location_id", sa.String(length=26), nullable=True),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("initial_quantity", sa.BigInteger(), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("on_hold", sa.Boolean(), nullable=False),
        sa.Column("source_tags", sa.JSON(), nullable=False),
        sa.Column("harvest_id", sa.String(length=26), nullable=True),
        sa.Column("external_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inv_packages")),
        sa.UniqueConstraint("tag", name="uq_inv_packages_tag"),
    )
    op.create_index(
        "ix_inv_packages_site_location", "inv_packages", ["site_id", "location_id"], unique=False
    )
    op.create_table(
        "inv_plant_batches",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("site_id", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("strain", sa.String(length=120), nullable=False),
        sa.Column("location_id", sa.String(length=26), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("live_count", sa.Integer(), nullable=False),
        sa.Column("packaged_count", sa.Integer(), nullable=False),
        sa.Column("harvested_count", sa.Integer(), nullable=False),
        sa.Column("destroyed_count", sa.Integer(), nullable=False),
        sa.Column("planted_at", UTCDateTime(), nullable=False),
        sa.Column("external_ids", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inv_plant_batches")),
        sa.UniqueConstraint("site_id", "name", name="uq_inv_plant_batches_name"),
    )
    op.create_table(
        "inv_plants",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("site_id", sa.String(length=63), nullable=False),
        sa.Column("tag", sa.String(length=40), nullable=False),
        sa.Column("batch_id", sa.String(length=26), nullable=True),
        sa.Column("strain", sa.String(length=120), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("location_id", sa.String(length=26), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("harvest_id", sa.String(length=26), nullable=True),
        sa.Column("planted_at", UTCDateTime(), nullable=False),
        sa.Column("external_ids", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inv_plants")),
        sa.UniqueConstraint("tag", name="uq_inv_plants_tag"),
    )
    op.create_table(
        "inv_rejected_rows",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("import_id", sa.String(length=26), nullable=False),
        sa.Column("site_id", sa.String(length=63), nullable=False),
        sa.Column("record", sa.String(length=120), nullable=False),
        sa.Column("field", sa.String(length=80), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inv_rejected_rows")),
    )
    op.create_index("ix_inv_rejected_rows_import", "inv_rejected_rows", ["import_id"], unique=False)
    op.create_table(
        "inv_sale_lines",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("site_id", sa.String(length=63), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("receipt", sa.String(length=64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("tag", sa.String(length=40), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inv_sale_lines")),
        sa.UniqueConstraint("site_id", "source", "receipt", "tag", name="uq_inv_sale_lines_line"),
    )
    op.create_index(
        "ix_inv_sale_lines_day", "inv_sale_lines", ["site_id", "day", "tag"], unique=False
    )
    op.create_index(
        "ix_inv_sale_lines_at", "inv_sale_lines", ["site_id", "source", "at"], unique=False
    )
    op.create_table(
        "inv_tracking_users",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("site_id", sa.String(length=63), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("license_no", sa.String(length=64), nullable=False),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inv_tracking_users")),
    )
    op.create_table(
        "inv_transfer_lines",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("transfer_id", sa.String(length=26), nullable=False),
        sa.Column("tag", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("shipped_qty", sa.BigInteger(), nullable=False),
        sa.Column("received_qty", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inv_transfer_lines")),
    )
    op.create_index(
        "ix_inv_transfer_lines_transfer", "inv_transfer_lines", ["transfer_id"], unique=False
    )
    op.create_table(
        "inv_transfers",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("site_id", sa.String(length=63), nullable=False),
        sa.Column("manifest_no", sa.String(length=40), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("shipper_license", sa.String(length=40), nullable=False),
        sa.Column("recipient_license", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("departed_at", UTCDateTime(), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=True),
        sa.Column("external_ids", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inv_transfers")),
        sa.UniqueConstraint("site_id", "manifest_no", name="uq_inv_transfers_manifest"),
    )


def downgrade() -> None:
    """Drop the inventory tables."""
    for table in [
        "inv_count_lines",
        "inv_counts",
        "inv_findings",
        "inv_harvests",
        "inv_imports",
        "inv_items",
        "inv_locations",
        "inv_movements",
        "inv_packages",
        "inv_plant_batches",
        "inv_plants",
        "inv_rejected_rows",
        "inv_sale_lines",
        "inv_tracking_users",
        "inv_transfer_lines",
        "inv_transfers",
    ]:
        op.drop_table(table)

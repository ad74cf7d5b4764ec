"""Inventory indexes for the reconciliation: adjustments by kind and time (covering the
weekly pattern check), each package's log sum read from an index alone, and a covering
index for the daily POS-vs-state sums.

Revision ID: 0121_inventory_indexes
Revises: 0120_inventory
"""

from alembic import op

revision = "0121_inventory_indexes"
down_revision = "0120_inventory"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the reconciliation's indexes; the daily sale index grows to cover its query."""
    op.create_index(
        "ix_inv_movements_kind",
        "inv_movements",
        ["site_id", "kind", "at", "reason", "actor"],
        unique=False,
    )
    op.create_index(
        "ix_inv_movements_log",
        "inv_movements",
        ["site_id", "package_id", "status", "delta"],
        unique=False,
    )
    op.drop_index("ix_inv_sale_lines_day", table_name="inv_sale_lines")
    op.create_index(
        "ix_inv_sale_lines_daily",
        "inv_sale_lines",
        ["site_id", "day", "tag", "source", "quantity", "unit"],
        unique=False,
    )


def downgrade() -> None:
    """Go back to the first inventory indexes."""
    op.drop_index("ix_inv_sale_lines_daily", table_name="inv_sale_lines")
    op.create_index(
        "ix_inv_sale_lines_day", "inv_sale_lines", ["site_id", "day", "tag"], unique=False
    )
    op.drop_index("ix_inv_movements_log", table_name="inv_movements")
    op.drop_index("ix_inv_movements_kind", table_name="inv_movements")

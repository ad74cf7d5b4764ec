"""A partial index of adjustments without a note, so the reconciliation's required-note
check reads only those rows (and from the index alone) instead of every adjustment's row.

Revision ID: 0122_inventory_unnoted
Revises: 0170_routine_zone
"""

import sqlalchemy as sa
from alembic import op

revision = "0122_inventory_unnoted"
down_revision = "0170_routine_zone"
branch_labels = None
depends_on = None

UNNOTED = "kind = 'adjust' AND note IS NULL"


def upgrade() -> None:
    """Index the unnoted adjustments with every column the check reads (kind and note too)."""
    op.create_index(
        "ix_inv_movements_unnoted",
        "inv_movements",
        ["site_id", "kind", "at", "reason", "tag", "id", "note"],
        unique=False,
        sqlite_where=sa.text(UNNOTED),
        postgresql_where=sa.text(UNNOTED),
    )


def downgrade() -> None:
    """Drop the unnoted-adjustment index."""
    op.drop_index("ix_inv_movements_unnoted", table_name="inv_movements")

"""Varied routines carry the time zone their departure window is in (site time).

Rows from before keep "UTC", the zone their windows were entered in.

Revision ID: 0170_routine_zone
Revises: 0121_inventory_indexes
"""

import sqlalchemy as sa
from alembic import op

revision = "0170_routine_zone"
down_revision = "0121_inventory_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the window's time zone to each routine."""
    with op.batch_alter_table("safety_routines") as batch:
        batch.add_column(sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"))


def downgrade() -> None:
    """Drop the routines' time zone."""
    with op.batch_alter_table("safety_routines") as batch:
        batch.drop_column("timezone")

"""Alarm incidents remember their cause and first zone, so correlation stays bounded.

Revision ID: 0110_incident_bounds
Revises: 0100_cash
"""

import sqlalchemy as sa
from alembic import op

revision = "0110_incident_bounds"
down_revision = "0100_cash"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the cause and the origin zone of each incident (existing ones keep None)."""
    op.add_column("alarm_incidents", sa.Column("cause", sa.String(100)))
    op.add_column("alarm_incidents", sa.Column("origin_zone_id", sa.String(63)))


def downgrade() -> None:
    """Drop them again."""
    op.drop_column("alarm_incidents", "origin_zone_id")
    op.drop_column("alarm_incidents", "cause")

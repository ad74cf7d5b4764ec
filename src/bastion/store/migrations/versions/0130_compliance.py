"""Compliance: site settings and profiles, records, rule overrides, legal holds,
corrective actions and check runs.

Revision ID: 0130_compliance
Revises: 0110_incident_bounds
"""

import sqlalchemy as sa
from alembic import op

from bastion.store.base import UTCDateTime

revision = "0130_compliance"
down_revision = "0110_incident_bounds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the compliance tables."""
    op.create_table(
        "compliance_settings",
        sa.Column("site_id", sa.String(63), primary_key=True),
        sa.Column("state", sa.String(2), nullable=True),
        sa.Column("license", sa.String(16), nullable=True),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "compliance_records",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("rule", sa.String(20), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("by_name", sa.Text(), nullable=True),
        sa.Column("document", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("redacted_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
    )
    op.create_index(
        "ix_compliance_records_site_kind", "compliance_records", ["site_id", "kind", "at"]
    )
    op.create_table(
        "compliance_overrides",
        sa.Column("site_id", sa.String(63), primary_key=True),
        sa.Column("rule", sa.String(20), primary_key=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_at", UTCDateTime(), nullable=False),
        sa.Column("set_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "compliance_holds",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column("record_class", sa.String(40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_at", UTCDateTime(), nullable=False),
        sa.Column("placed_by", sa.String(128), nullable=False),
        sa.Column("released_at", UTCDateTime(), nullable=True),
        sa.Column("released_by", sa.String(128), nullable=True),
    )
    op.create_table(
        "compliance_actions",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column("rule", sa.String(20), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("opened_by", sa.String(128), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(128), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_index("ix_compliance_actions_site", "compliance_actions", ["site_id", "status"])
    op.create_table(
        "compliance_runs",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column("state", sa.String(2), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
    )
    op.create_index("ix_compliance_runs_site_at", "compliance_runs", ["site_id", "at"])


def downgrade() -> None:
    """Drop the compliance tables."""
    for index, table in (
        ("ix_compliance_runs_site_at", "compliance_runs"),
        ("ix_compliance_actions_site", "compliance_actions"),
        ("ix_compliance_records_site_kind", "compliance_records"),
    ):
        op.drop_index(index, table_name=table)
    for table in (
        "compliance_runs",
        "compliance_actions",
        "compliance_holds",
        "compliance_overrides",
        "compliance_records",
        "compliance_settings",
    ):
        op.drop_table(table)

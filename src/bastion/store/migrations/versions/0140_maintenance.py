"""Upkeep: asset register, maintenance schedules and work orders, walk tests, recording
and camera-view checks.

Revision ID: 0140_maintenance
Revises: 0130_compliance
"""

import sqlalchemy as sa
from alembic import op

from bastion.store.base import UTCDateTime

revision = "0140_maintenance"
down_revision = "0130_compliance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the maintenance tables."""
    op.create_table(
        "maintenance_assets",
        sa.Column("site_id", sa.String(63), primary_key=True),
        sa.Column("device_id", sa.String(63), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("model", sa.String(120), nullable=False),
        sa.Column("firmware", sa.String(64), nullable=False),
        sa.Column("installed_on", sa.Date()),
        sa.Column("warranty_until", sa.Date()),
        sa.Column("end_of_life", sa.Date()),
        sa.Column("replacement_cents", sa.BigInteger()),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "maintenance_schedules",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column("task", sa.String(32), nullable=False),
        sa.Column("title", sa.String(160), nullable=False),
        sa.Column("every_days", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.String(63)),
        sa.Column("next_due", UTCDateTime(), nullable=False),
        sa.Column("last_done", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
    )
    op.create_index("ix_maintenance_schedules_site_id", "maintenance_schedules", ["site_id"])
    op.create_table(
        "maintenance_work_orders",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column(
            "schedule_id",
            sa.String(26),
            sa.ForeignKey(
                "maintenance_schedules.id",
                name="fk_maintenance_work_orders_schedule",
            ),
        ),
        sa.Column("task", sa.String(32), nullable=False),
        sa.Column("title", sa.String(160), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("checklist", sa.JSON(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("done_at", UTCDateTime()),
        sa.Column("done_by", sa.String(128)),
        sa.Column("note", sa.String(2000), nullable=False),
    )
    op.create_index(
        "ix_maintenance_work_orders_site_state", "maintenance_work_orders", ["site_id", "state"]
    )
    op.create_table(
        "maintenance_walk_tests",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column("zone_id", sa.String(63), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("started_by", sa.String(128), nullable=False),
        sa.Column("finished_at", UTCDateTime()),
    )
    op.create_index("ix_maintenance_walk_tests_site_id", "maintenance_walk_tests", ["site_id"])
    op.create_table(
        "maintenance_walk_test_devices",
        sa.Column(
            "walk_test_id",
            sa.String(26),
            sa.ForeignKey(
                "maintenance_walk_tests.id",
                name="fk_maintenance_walk_test_devices_test",
            ),
            primary_key=True,
        ),
        sa.Column("device_id", sa.String(63), primary_key=True),
        sa.Column("seen_at", UTCDateTime()),
        sa.Column("result", sa.String(16), nullable=False),
    )
    op.create_table(
        "maintenance_recording_checks",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column("camera_id", sa.String(63), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("period_start", UTCDateTime(), nullable=False),
        sa.Column("period_end", UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("coverage_pct", sa.Float()),
        sa.Column("recorded_s", sa.Float()),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("gaps", sa.JSON(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("checked_at", UTCDateTime(), nullable=False),
        sa.Column("checked_by", sa.String(128), nullable=False),
    )
    op.create_index(
        "ix_maintenance_recording_checks_site_camera",
        "maintenance_recording_checks",
        ["site_id", "camera_id"],
    )
    op.create_table(
        "maintenance_view_checks",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column("camera_id", sa.String(63), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("detail", sa.String(300), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("snapshot_file", sa.String(200)),
        sa.Column("reference_file", sa.String(200)),
        sa.Column("checked_at", UTCDateTime(), nullable=False),
        sa.Column("checked_by", sa.String(128), nullable=False),
    )
    op.create_index(
        "ix_maintenance_view_checks_site_camera",
        "maintenance_view_checks",
        ["site_id", "camera_id"],
    )


def downgrade() -> None:
    """Drop the maintenance tables."""
    for table in [
        "maintenance_view_checks",
        "maintenance_recording_checks",
        "maintenance_walk_test_devices",
        "maintenance_walk_tests",
        "maintenance_work_orders",
        "maintenance_schedules",
        "maintenance_assets",
    ]:
        op.drop_table(table)

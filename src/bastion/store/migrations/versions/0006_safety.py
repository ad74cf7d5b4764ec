"""Personal safety: assessments, plan items, PINs, lone-worker timers, reports, routines.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from bastion.store.base import BigIntPK, UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the safety tables."""
    op.create_table(
        "safety_assessments",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text()),
        sa.Column("level", sa.Text(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_safety_assessments_owner", "safety_assessments", ["owner_id", "created_at"])
    op.create_table(
        "safety_plan_items",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column(
            "assessment_id",
            sa.String(26),
            sa.ForeignKey(
                "safety_assessments.id",
                ondelete="CASCADE",
                name="fk_safety_plan_items_assessment_id_safety_assessments",
            ),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.String(64), nullable=False),
        sa.Column("done_at", UTCDateTime()),
    )
    op.create_index(
        "ix_safety_plan_items_assessment", "safety_plan_items", ["assessment_id", "position"]
    )
    op.create_table(
        "safety_pins",
        sa.Column("owner_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("checkin_hash", sa.String(64), nullable=False),
        sa.Column("duress_hash", sa.String(64), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "safety_timers",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("task", sa.Text(), nullable=False),
        sa.Column("location", sa.Text()),
        sa.Column("interval_s", sa.Integer(), nullable=False),
        sa.Column("call_tree_id", sa.String(26)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("last_checkin_at", UTCDateTime()),
        sa.Column("checkins", sa.Integer(), nullable=False),
        sa.Column("missed_at", UTCDateTime()),
        sa.Column("run_id", sa.String(26)),
        sa.Column("finished_at", UTCDateTime()),
    )
    op.create_index("ix_safety_timers_status_due", "safety_timers", ["status", "due_at"])
    op.create_index("ix_safety_timers_owner", "safety_timers", ["owner_id", "started_at"])
    op.create_table(
        "safety_reports",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("reporter_id", sa.Integer()),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("indicators", sa.JSON(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("occurred_at", UTCDateTime()),
        sa.Column("alarm_event_id", sa.String(26), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_safety_reports_kind_created", "safety_reports", ["kind", "created_at"])
    op.create_index("ix_safety_reports_reporter", "safety_reports", ["reporter_id"])
    op.create_table(
        "safety_case_steps",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column(
            "report_id",
            sa.String(26),
            sa.ForeignKey(
                "safety_reports.id",
                ondelete="CASCADE",
                name="fk_safety_case_steps_report_id_safety_reports",
            ),
            nullable=False,
        ),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_safety_case_steps_report", "safety_case_steps", ["report_id", "recorded_at"]
    )
    op.create_table(
        "safety_routines",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("window_start_min", sa.Integer(), nullable=False),
        sa.Column("window_end_min", sa.Integer(), nullable=False),
        sa.Column("routes", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_safety_routines_owner", "safety_routines", ["owner_id"])
    op.create_table(
        "safety_trips",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column(
            "routine_id",
            sa.String(26),
            sa.ForeignKey(
                "safety_routines.id",
                ondelete="CASCADE",
                name="fk_safety_trips_routine_id_safety_routines",
            ),
            nullable=False,
        ),
        sa.Column("departed_at", UTCDateTime(), nullable=False),
        sa.Column("route", sa.Text()),
    )
    op.create_index("ix_safety_trips_routine", "safety_trips", ["routine_id", "departed_at"])


def downgrade() -> None:
    """Drop the safety tables."""
    for table in (
        "safety_trips",
        "safety_routines",
        "safety_case_steps",
        "safety_reports",
        "safety_timers",
        "safety_pins",
        "safety_plan_items",
        "safety_assessments",
    ):
        op.drop_table(table)

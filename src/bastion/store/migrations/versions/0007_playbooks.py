"""Emergency playbooks: runs and drills, their timed steps, muster roll calls.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from bastion.store.base import BigIntPK, UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the playbook tables."""
    op.create_table(
        "playbook_runs",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("playbook_id", sa.String(64), nullable=False),
        sa.Column("playbook_name", sa.String(120), nullable=False),
        sa.Column("site_id", sa.String(63)),
        sa.Column("zone_id", sa.String(63)),
        sa.Column("drill", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("trigger_event_id", sa.String(26)),
        sa.Column("trigger_type", sa.String(64)),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("started_by", sa.String(128), nullable=False),
        sa.Column("context_id", sa.String(26), nullable=False),
        sa.Column("finished_at", UTCDateTime()),
        sa.Column("note", sa.Text()),
        sa.Column("muster_started_at", UTCDateTime()),
    )
    op.create_index("ix_playbook_runs_status", "playbook_runs", ["status", "playbook_id"])
    op.create_index("ix_playbook_runs_started", "playbook_runs", ["started_at"])
    op.create_table(
        "playbook_steps",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column(
            "run_id",
            sa.String(26),
            sa.ForeignKey(
                "playbook_runs.id",
                ondelete="CASCADE",
                name="fk_playbook_steps_run_id_playbook_runs",
            ),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("after", sa.Boolean(), nullable=False),
        sa.Column("target_s", sa.Float()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("completed_at", UTCDateTime()),
        sa.Column("elapsed_s", sa.Float()),
        sa.Column("completed_by", sa.String(128)),
        sa.Column("detail", sa.String(2000), nullable=False),
        sa.Column("notify_run_id", sa.String(26)),
        sa.Column("note", sa.Text()),
        sa.Column("answers", sa.Text()),
        sa.UniqueConstraint("run_id", "step_id", name="uq_playbook_steps_run_id"),
    )
    op.create_table(
        "playbook_muster",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column(
            "run_id",
            sa.String(26),
            sa.ForeignKey(
                "playbook_runs.id",
                ondelete="CASCADE",
                name="fk_playbook_muster_run_id_playbook_runs",
            ),
            nullable=False,
        ),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("zone_id", sa.String(63)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("marked_at", UTCDateTime()),
        sa.Column("marked_by", sa.String(128)),
        sa.Column("elapsed_s", sa.Float()),
        sa.UniqueConstraint("run_id", "subject", name="uq_playbook_muster_run_id"),
    )


def downgrade() -> None:
    """Drop the playbook tables."""
    op.drop_table("playbook_muster")
    op.drop_table("playbook_steps")
    op.drop_index("ix_playbook_runs_started", table_name="playbook_runs")
    op.drop_index("ix_playbook_runs_status", table_name="playbook_runs")
    op.drop_table("playbook_runs")

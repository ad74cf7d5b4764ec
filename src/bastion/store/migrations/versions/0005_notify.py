"""Notification: contacts, channels (encrypted), call trees, tiers, templates, runs, deliveries.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from bastion.store.base import BigIntPK, UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_contacts",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False, unique=True),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("quiet_start", sa.String(5)),
        sa.Column("quiet_end", sa.String(5)),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "notify_channels",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column(
            "contact_id",
            sa.String(26),
            sa.ForeignKey(
                "notify_contacts.id",
                ondelete="CASCADE",
                name="fk_notify_channels_contact_id_notify_contacts",
            ),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("hint", sa.String(120), nullable=False),
        sa.Column("rate_limit", sa.Integer(), nullable=False),
        sa.Column("rate_window_s", sa.Integer(), nullable=False),
    )
    op.create_index("ix_notify_channels_contact", "notify_channels", ["contact_id", "position"])
    op.create_table(
        "notify_call_trees",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False, unique=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("site_id", sa.String(63)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "notify_tiers",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column(
            "tree_id",
            sa.String(26),
            sa.ForeignKey(
                "notify_call_trees.id",
                ondelete="CASCADE",
                name="fk_notify_tiers_tree_id_notify_call_trees",
            ),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("ack_timeout_s", sa.Integer(), nullable=False),
        sa.UniqueConstraint("tree_id", "position", name="uq_notify_tiers_tree_id"),
    )
    op.create_table(
        "notify_tier_members",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column(
            "tier_id",
            BigIntPK,
            sa.ForeignKey(
                "notify_tiers.id",
                ondelete="CASCADE",
                name="fk_notify_tier_members_tier_id_notify_tiers",
            ),
            nullable=False,
        ),
        sa.Column(
            "contact_id",
            sa.String(26),
            sa.ForeignKey(
                "notify_contacts.id",
                ondelete="RESTRICT",
                name="fk_notify_tier_members_contact_id_notify_contacts",
            ),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
    )
    op.create_index("ix_notify_tier_members_contact", "notify_tier_members", ["contact_id"])
    op.create_table(
        "notify_templates",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("scenario", sa.String(64), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "notify_runs",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("tree_id", sa.String(26), nullable=False),
        sa.Column("tree_name", sa.String(120), nullable=False),
        sa.Column("template_id", sa.String(64)),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("drill", sa.Boolean(), nullable=False),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("tier_count", sa.Integer(), nullable=False),
        sa.Column("current_tier", sa.Integer(), nullable=False),
        sa.Column("tier_deadline", UTCDateTime()),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime()),
        sa.Column("acknowledged_at", UTCDateTime()),
        sa.Column("started_by", sa.String(128), nullable=False),
        sa.Column("context_id", sa.String(26), nullable=False),
        sa.Column("site_id", sa.String(63)),
    )
    op.create_index("ix_notify_runs_status_deadline", "notify_runs", ["status", "tier_deadline"])
    op.create_table(
        "notify_recipients",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column(
            "run_id",
            sa.String(26),
            sa.ForeignKey(
                "notify_runs.id",
                ondelete="CASCADE",
                name="fk_notify_recipients_run_id_notify_runs",
            ),
            nullable=False,
        ),
        sa.Column("contact_id", sa.String(26), nullable=False),
        sa.Column("contact_name", sa.String(120), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("ack_nonce", sa.String(32), nullable=False),
        sa.Column("notified_at", UTCDateTime()),
        sa.Column("acknowledged_at", UTCDateTime()),
        sa.Column("ack_method", sa.String(16)),
        sa.Column("acknowledged_by", sa.String(128)),
    )
    op.create_index("ix_notify_recipients_run", "notify_recipients", ["run_id", "tier"])
    op.create_table(
        "notify_deliveries",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column(
            "recipient_id",
            BigIntPK,
            sa.ForeignKey(
                "notify_recipients.id",
                ondelete="CASCADE",
                name="fk_notify_deliveries_recipient_id_notify_recipients",
            ),
            nullable=False,
        ),
        sa.Column("run_id", sa.String(26), nullable=False),
        sa.Column("channel_id", BigIntPK),
        sa.Column("channel_kind", sa.String(16)),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("attempted_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime()),
    )
    op.create_index("ix_notify_deliveries_recipient", "notify_deliveries", ["recipient_id"])
    op.create_index(
        "ix_notify_deliveries_channel_time", "notify_deliveries", ["channel_id", "attempted_at"]
    )


def downgrade() -> None:
    op.drop_table("notify_deliveries")
    op.drop_table("notify_recipients")
    op.drop_table("notify_runs")
    op.drop_table("notify_templates")
    op.drop_table("notify_tier_members")
    op.drop_table("notify_tiers")
    op.drop_table("notify_call_trees")
    op.drop_table("notify_channels")
    op.drop_table("notify_contacts")

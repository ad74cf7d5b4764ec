"""Cluster: edge ledger rows replicated to the central side, the nodes seen, an edge's send cursor.

Revision ID: 0160_cluster
Revises: 0125_transport
"""

import sqlalchemy as sa
from alembic import op

from bastion.store.base import UTCDateTime

revision = "0160_cluster"
down_revision = "0125_transport"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the cluster tables."""
    op.create_table(
        "cluster_events",
        sa.Column("node_id", sa.String(63), primary_key=True),
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("time", UTCDateTime(), nullable=False),
        sa.Column("site", sa.String(63)),
        sa.Column("subject", sa.String(128)),
        sa.Column("device", sa.String(128)),
        sa.Column("context_id", sa.String(26), nullable=False),
        sa.Column("parent_id", sa.String(26)),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_cluster_events_site_time", "cluster_events", ["site", "time"])
    op.create_index("ix_cluster_events_id", "cluster_events", ["id"])
    op.create_table(
        "cluster_nodes",
        sa.Column("node_id", sa.String(63), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("site_id", sa.String(63)),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.Column("head_seq", sa.BigInteger(), nullable=False),
        sa.Column("acked_seq", sa.BigInteger(), nullable=False),
        sa.Column("commands_applied", sa.Integer(), nullable=False),
        sa.Column("last_command_ms", sa.Float()),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("problem", sa.String(300)),
        sa.Column("last_seen_at", UTCDateTime()),
        sa.Column("last_event_at", UTCDateTime()),
    )
    op.create_table(
        "cluster_cursor",
        sa.Column("name", sa.String(63), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    """Drop the cluster tables."""
    op.drop_table("cluster_cursor")
    op.drop_table("cluster_nodes")
    op.drop_index("ix_cluster_events_id", "cluster_events")
    op.drop_index("ix_cluster_events_site_time", "cluster_events")
    op.drop_table("cluster_events")

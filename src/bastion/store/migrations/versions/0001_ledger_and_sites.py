"""Ledger (hash-chained security events), its head, and stored site models.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from bastion.store.base import BigIntPK, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_events",
        sa.Column("seq", BigIntPK, primary_key=True, autoincrement=False),
        sa.Column("id", sa.String(26), nullable=False, unique=True),
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
    )
    op.create_index("ix_ledger_type_time", "ledger_events", ["type", "time"])
    op.create_index("ix_ledger_subject_time", "ledger_events", ["subject", "time"])
    op.create_index("ix_ledger_device_time", "ledger_events", ["device", "time"])
    op.create_index("ix_ledger_context", "ledger_events", ["context_id"])
    op.create_index("ix_ledger_parent", "ledger_events", ["parent_id"])
    op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", BigIntPK, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.execute(
        sa.text(
            "INSERT INTO ledger_head (id, seq, hash, updated_at) "
            "VALUES (1, 0, :genesis, CURRENT_TIMESTAMP)"
        ).bindparams(genesis="0" * 64)
    )
    op.create_table(
        "sites",
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("model", sa.JSON(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.Column("imported_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "site_revisions",
        sa.Column("site_id", sa.String(63), primary_key=True),
        sa.Column("revision", sa.Integer(), primary_key=True),
        sa.Column("model", sa.JSON(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.Column("imported_by", sa.String(128), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("site_revisions")
    op.drop_table("sites")
    op.drop_table("ledger_head")
    op.drop_table("ledger_events")

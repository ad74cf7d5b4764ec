"""Operator accounts: users, role grants, sessions, API tokens and sign-in attempts.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from bastion.store.base import BigIntPK, UTCDateTime
from bastion.store.crypto import EncryptedString

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("totp_secret", EncryptedString()),
        sa.Column("totp_last_step", sa.BigInteger()),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("password_changed_at", UTCDateTime(), nullable=False),
        sa.Column("last_login_at", UTCDateTime()),
        sa.Column("failures_reset_at", UTCDateTime()),
        sa.Column("locked_until", UTCDateTime()),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_table(
        "role_grants",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column(
            "user_id",
            BigIntPK,
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_role_grants_user_id_users"),
            nullable=False,
        ),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("site_id", sa.String(63)),
        sa.Column("granted_at", UTCDateTime(), nullable=False),
        sa.Column("granted_by", sa.String(128), nullable=False),
    )
    op.create_index("ix_role_grants_user", "role_grants", ["user_id"])
    op.create_table(
        "user_sessions",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column(
            "user_id",
            BigIntPK,
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_user_sessions_user_id_users"),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime()),
        sa.Column("end_reason", sa.String(32)),
        sa.Column("source", sa.String(64), nullable=False),
        sa.UniqueConstraint("token_hash", name="uq_user_sessions_token_hash"),
    )
    op.create_index("ix_user_sessions_user", "user_sessions", ["user_id"])
    op.create_table(
        "api_tokens",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column(
            "owner_id",
            BigIntPK,
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_api_tokens_owner_id_users"),
            nullable=False,
        ),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("site_id", sa.String(63)),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime()),
        sa.Column("last_used_at", UTCDateTime()),
        sa.Column("revoked_at", UTCDateTime()),
    )
    op.create_index("ix_api_tokens_owner", "api_tokens", ["owner_id"])
    op.create_table(
        "login_attempts",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column(
            "user_id",
            BigIntPK,
            sa.ForeignKey("users.id", ondelete="SET NULL", name="fk_login_attempts_user_id_users"),
        ),
        sa.Column("time", UTCDateTime(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
    )
    op.create_index("ix_login_attempts_username_time", "login_attempts", ["username", "time"])


def downgrade() -> None:
    op.drop_table("login_attempts")
    op.drop_table("api_tokens")
    op.drop_table("user_sessions")
    op.drop_table("role_grants")
    op.drop_table("users")

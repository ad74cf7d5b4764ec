"""Access control and people: cardholders, training, credentials (hashes only), levels, policies.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from bastion.store.base import BigIntPK, UTCDateTime
from bastion.store.crypto import EncryptedString

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("site_id", sa.String(63)),
        sa.Column("name", EncryptedString(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("background_check", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "training_records",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column(
            "person_id",
            sa.String(26),
            sa.ForeignKey(
                "people.id", ondelete="CASCADE", name="fk_training_records_person_id_people"
            ),
            nullable=False,
        ),
        sa.Column("course", sa.String(64), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime()),
    )
    op.create_index("ix_training_records_person", "training_records", ["person_id"])
    op.create_table(
        "credentials",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column(
            "person_id",
            sa.String(26),
            sa.ForeignKey("people.id", ondelete="CASCADE", name="fk_credentials_person_id_people"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("card_hash", sa.String(64)),
        sa.Column("card_format", sa.String(16)),
        sa.Column("facility_code", sa.Integer()),
        sa.Column("pin_hash", sa.String(64)),
        sa.Column("mobile_hash", sa.String(64)),
        sa.Column("activates_at", UTCDateTime()),
        sa.Column("expires_at", UTCDateTime()),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("revoked_at", UTCDateTime()),
        sa.Column("revoked_reason", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("card_hash", name="uq_credentials_card_hash"),
        sa.UniqueConstraint("mobile_hash", name="uq_credentials_mobile_hash"),
    )
    op.create_index("ix_credentials_person", "credentials", ["person_id"])
    op.create_index("ix_credentials_pin_hash", "credentials", ["pin_hash"])
    op.create_table(
        "access_levels",
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("schedule_id", sa.String(63)),
        sa.Column("doors", sa.JSON(), nullable=False),
        sa.Column("zones", sa.JSON(), nullable=False),
        sa.Column("max_threat_level", sa.Integer(), nullable=False),
        sa.Column("requires_training", sa.JSON(), nullable=False),
        sa.Column("requires_background_check", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_access_levels_site", "access_levels", ["site_id"])
    op.create_table(
        "access_assignments",
        sa.Column(
            "person_id",
            sa.String(26),
            sa.ForeignKey(
                "people.id", ondelete="CASCADE", name="fk_access_assignments_person_id_people"
            ),
            primary_key=True,
        ),
        sa.Column(
            "level_id",
            sa.String(63),
            sa.ForeignKey(
                "access_levels.id",
                ondelete="CASCADE",
                name="fk_access_assignments_level_id_access_levels",
            ),
            primary_key=True,
        ),
        sa.Column("granted_at", UTCDateTime(), nullable=False),
        sa.Column("granted_by", sa.String(128), nullable=False),
    )
    op.create_index("ix_access_assignments_level", "access_assignments", ["level_id"])
    op.create_table(
        "door_policies",
        sa.Column("site_id", sa.String(63), primary_key=True),
        sa.Column("door_id", sa.String(63), primary_key=True),
        sa.Column("mode", sa.String(32), nullable=False),
        sa.Column("unlock_schedule_id", sa.String(63)),
        sa.Column("two_person", sa.Boolean(), nullable=False),
        sa.Column("two_person_window_s", sa.Float(), nullable=False),
        sa.Column("two_person_distinct_roles", sa.Boolean(), nullable=False),
        sa.Column("escort_required", sa.Boolean(), nullable=False),
        sa.Column("escort_window_s", sa.Float(), nullable=False),
        sa.Column("escort_ratio", sa.Integer(), nullable=False),
        sa.Column("first_person_in", sa.Boolean(), nullable=False),
        sa.Column("supervisor_roles", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "anti_passback_areas",
        sa.Column("site_id", sa.String(63), primary_key=True),
        sa.Column("zone_id", sa.String(63), primary_key=True),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("timeout_s", sa.Float(), nullable=False),
    )
    op.create_table(
        "interlocks",
        sa.Column("site_id", sa.String(63), primary_key=True),
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("doors", sa.JSON(), nullable=False),
    )
    op.create_table(
        "access_site_state",
        sa.Column("site_id", sa.String(63), primary_key=True),
        sa.Column("threat_level", sa.Integer(), nullable=False),
        sa.Column("threat_name", sa.String(64), nullable=False),
        sa.Column("lockdown_zones", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("access_site_state")
    op.drop_table("interlocks")
    op.drop_table("anti_passback_areas")
    op.drop_table("door_policies")
    op.drop_table("access_assignments")
    op.drop_table("access_levels")
    op.drop_table("credentials")
    op.drop_table("training_records")
    op.drop_table("people")

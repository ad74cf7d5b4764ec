"""People: hiring gate, training evidence, account links, role levels, access reviews,
offboarding checklists, visits and the visitor watchlist.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from bastion.store.base import BigIntPK, UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the person links and hiring-gate columns; create the lifecycle and visit tables."""
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("name_key", sa.String(64)))
        batch.add_column(sa.Column("user_id", sa.Integer()))
        batch.add_column(sa.Column("manager_id", sa.String(26)))
        batch.add_column(sa.Column("contact_id", sa.String(26)))
        batch.add_column(sa.Column("background_reference", sa.Text()))
        batch.add_column(sa.Column("background_checked_on", sa.Date()))
        batch.add_column(sa.Column("background_expires_on", sa.Date()))
    op.create_index("ix_people_name_key", "people", ["name_key"])
    op.create_index("ix_people_user_id", "people", ["user_id"])
    with op.batch_alter_table("training_records") as batch:
        batch.add_column(sa.Column("evidence", sa.String(300)))
        batch.add_column(sa.Column("warned_at", UTCDateTime()))
    op.create_table(
        "people_role_levels",
        sa.Column("role", sa.String(64), primary_key=True),
        sa.Column("level_id", sa.String(63), primary_key=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "people_access_confirmations",
        sa.Column("person_id", sa.String(26), primary_key=True),
        sa.Column("level_id", sa.String(63), primary_key=True),
        sa.Column("confirmed_at", UTCDateTime(), nullable=False),
        sa.Column("confirmed_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "people_offboardings",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("person_id", sa.String(26), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("started_by", sa.String(128), nullable=False),
        sa.Column("completed_at", UTCDateTime()),
    )
    op.create_index("ix_people_offboardings_person", "people_offboardings", ["person_id"])
    op.create_table(
        "people_secret_rotations",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column(
            "offboarding_id",
            sa.String(26),
            sa.ForeignKey(
                "people_offboardings.id",
                ondelete="CASCADE",
                name="fk_people_secret_rotations_offboarding_id_people_offboardings",
            ),
            nullable=False,
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("label", sa.String(120), nullable=False),
        sa.Column("rotated_at", UTCDateTime()),
        sa.Column("rotated_by", sa.String(128)),
        sa.Column("note", sa.String(200)),
    )
    op.create_index(
        "ix_people_secret_rotations_offboarding", "people_secret_rotations", ["offboarding_id"]
    )
    op.create_table(
        "visits",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_key", sa.String(64), nullable=False),
        sa.Column("company", sa.Text()),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("host_id", sa.String(26), nullable=False),
        sa.Column("areas", sa.JSON(), nullable=False),
        sa.Column("approved_by", sa.String(128)),
        sa.Column("walk_in", sa.Boolean(), nullable=False),
        sa.Column("expected_at", UTCDateTime(), nullable=False),
        sa.Column("until", UTCDateTime(), nullable=False),
        sa.Column("id_type", sa.String(32)),
        sa.Column("id_number", sa.Text()),
        sa.Column("id_number_key", sa.String(64)),
        sa.Column("id_expires_on", sa.Date()),
        sa.Column("person_id", sa.String(26)),
        sa.Column("credential_id", sa.String(26)),
        sa.Column("level_id", sa.String(63)),
        sa.Column("badge_number", sa.String(32)),
        sa.Column("escort_required", sa.Boolean(), nullable=False),
        sa.Column("checked_in_at", UTCDateTime()),
        sa.Column("checked_out_at", UTCDateTime()),
        sa.Column("badge_returned", sa.Boolean()),
        sa.Column("overstay_alarmed_at", UTCDateTime()),
        sa.Column("refused_reason", sa.String(200)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
    )
    op.create_index("ix_visits_site_status", "visits", ["site_id", "status"])
    op.create_index("ix_visits_created", "visits", ["created_at"])
    op.create_index("ix_visits_host", "visits", ["host_id", "status"])
    op.create_table(
        "visitor_watchlist",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_key", sa.String(64), nullable=False),
        sa.Column("id_number_key", sa.String(64)),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
    )
    op.create_index("ix_visitor_watchlist_name_key", "visitor_watchlist", ["name_key"])
    op.create_index("ix_visitor_watchlist_id_key", "visitor_watchlist", ["id_number_key"])


def downgrade() -> None:
    """Drop the people tables and columns added here."""
    for table in (
        "visitor_watchlist",
        "visits",
        "people_secret_rotations",
        "people_offboardings",
        "people_access_confirmations",
        "people_role_levels",
    ):
        op.drop_table(table)
    with op.batch_alter_table("training_records") as batch:
        batch.drop_column("warned_at")
        batch.drop_column("evidence")
    op.drop_index("ix_people_user_id", "people")
    op.drop_index("ix_people_name_key", "people")
    with op.batch_alter_table("people") as batch:
        for column in (
            "background_expires_on",
            "background_checked_on",
            "background_reference",
            "contact_id",
            "manager_id",
            "user_id",
            "name_key",
        ):
            batch.drop_column(column)

"""Cash controls: containers, movements and entries, tills, blind counts, variance reviews,
POS batches, transactions, rejections and exceptions, carriers, pickups, bank confirmations,
compliance tasks and per-site cash settings.

Revision ID: 0100_cash
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

from bastion.store.base import BigIntPK, UTCDateTime

revision = "0100_cash"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the cash tables."""
    op.create_table(
        "cash_bank_confirmations",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("bag_id", sa.String(26), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("expected_cents", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(120), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
    )
    op.create_table(
        "cash_carriers",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column("company", sa.String(120), nullable=False),
        sa.Column("code_word_key", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "cash_cashier_codes",
        sa.Column("site_id", sa.String(63), primary_key=True),
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("person_id", sa.String(26), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "cash_containers",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("zone_id", sa.String(63)),
        sa.Column("camera_id", sa.String(63)),
        sa.Column("terminal", sa.String(64)),
        sa.Column("limit_cents", sa.BigInteger()),
        sa.Column("bag_number", sa.String(64)),
        sa.Column("seal_number", sa.String(64)),
        sa.Column("pickup_id", sa.String(26)),
        sa.Column("over_limit_since", UTCDateTime()),
        sa.Column("alarm_raised", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.UniqueConstraint("site_id", "terminal", name="uq_cash_containers_terminal"),
        sa.UniqueConstraint("site_id", "seal_number", name="uq_cash_containers_seal"),
    )
    op.create_index("ix_cash_containers_site_kind", "cash_containers", ["site_id", "kind"])
    op.create_table(
        "cash_counts",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column("container_id", sa.String(26), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("dual", sa.Boolean(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("book_cents", sa.BigInteger(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("started_by", sa.String(128), nullable=False),
        sa.Column("completed_at", UTCDateTime()),
        sa.Column("counted_cents", sa.BigInteger()),
        sa.Column("variance_cents", sa.BigInteger()),
        sa.Column("threshold_cents", sa.BigInteger()),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("session_id", sa.String(26)),
        sa.Column("playbook_run_id", sa.String(26)),
        sa.Column("playbook_step_id", sa.String(64)),
    )
    op.create_index("ix_cash_counts_container", "cash_counts", ["container_id", "started_at"])
    op.create_index("ix_cash_counts_playbook", "cash_counts", ["playbook_run_id"])
    op.create_index("ix_cash_counts_site_status", "cash_counts", ["site_id", "status"])
    op.create_table(
        "cash_movements",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("container_id", sa.String(26), nullable=False),
        sa.Column("counterpart_id", sa.String(26)),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("context_id", sa.String(26), nullable=False),
        sa.Column("event_id", sa.String(26), nullable=False),
        sa.Column("person_id", sa.String(26)),
        sa.Column("session_id", sa.String(26)),
        sa.Column("reference", sa.JSON(), nullable=False),
    )
    op.create_index("ix_cash_movements_container", "cash_movements", ["container_id", "at"])
    op.create_index("ix_cash_movements_site_at", "cash_movements", ["site_id", "at"])
    op.create_table(
        "cash_pickups",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column("carrier_id", sa.String(26), nullable=False),
        sa.Column("scheduled_at", UTCDateTime(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("code_key", sa.String(64), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("code_used_at", UTCDateTime()),
        sa.Column("verified_at", UTCDateTime()),
        sa.Column("verified_by", sa.String(128)),
        sa.Column("guard_name", sa.Text()),
        sa.Column("guard_id_number", sa.Text()),
        sa.Column("completed_at", UTCDateTime()),
        sa.Column("total_cents", sa.BigInteger()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
    )
    op.create_index("ix_cash_pickups_site_time", "cash_pickups", ["site_id", "scheduled_at"])
    op.create_table(
        "cash_pos_batches",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
    )
    op.create_table(
        "cash_pos_exceptions",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("pos_id", sa.String(64), nullable=False),
        sa.Column("register_id", sa.String(26)),
        sa.Column("terminal", sa.String(64)),
        sa.Column("cashier", sa.String(64)),
        sa.Column("person_id", sa.String(26)),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("summary", sa.String(300), nullable=False),
        sa.Column("camera_id", sa.String(63)),
        sa.Column("clip_url", sa.String(500)),
        sa.Column("clip_from", UTCDateTime()),
        sa.Column("clip_to", UTCDateTime()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reviewed_by", sa.String(128)),
        sa.Column("reviewed_at", UTCDateTime()),
        sa.Column("note", sa.Text()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("site_id", "rule", "pos_id", name="uq_cash_pos_exceptions_rule"),
    )
    op.create_index(
        "ix_cash_pos_exceptions_cashier", "cash_pos_exceptions", ["site_id", "cashier", "at"]
    )
    op.create_index(
        "ix_cash_pos_exceptions_status", "cash_pos_exceptions", ["site_id", "status", "at"]
    )
    op.create_table(
        "cash_pos_rejections",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column("batch_id", sa.String(26), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("line", sa.String(64), nullable=False),
        sa.Column("pos_id", sa.String(64)),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_cash_pos_rejections_site_at", "cash_pos_rejections", ["site_id", "at"])
    op.create_table(
        "cash_pos_transactions",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column("pos_id", sa.String(64), nullable=False),
        sa.Column("terminal", sa.String(64), nullable=False),
        sa.Column("register_id", sa.String(26), nullable=False),
        sa.Column("cashier", sa.String(64), nullable=False),
        sa.Column("person_id", sa.String(26)),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("kind_code", sa.SmallInteger(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("cash_cents", sa.BigInteger(), nullable=False),
        sa.Column("discount_cents", sa.BigInteger(), nullable=False),
        sa.Column("original_id", sa.String(64)),
        sa.Column("customer_code", sa.BigInteger()),
        sa.Column("reason", sa.String(200)),
        sa.Column("detail", sa.Text()),
        sa.Column("batch_id", sa.String(26), nullable=False),
        sa.UniqueConstraint("site_id", "pos_id", name="uq_cash_pos_transactions_pos_id"),
    )
    op.create_index(
        "ix_cash_pos_transactions_site_at", "cash_pos_transactions", ["site_id", "at_ms"]
    )
    op.create_table(
        "cash_site_settings",
        sa.Column("site_id", sa.String(63), primary_key=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "cash_tasks",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("state", sa.String(2)),
        sa.Column("due_at", UTCDateTime()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(80), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("done_at", UTCDateTime()),
        sa.Column("done_by", sa.String(128)),
        sa.UniqueConstraint("site_id", "kind", "source", name="uq_cash_tasks_source"),
    )
    op.create_table(
        "cash_till_sessions",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column("register_id", sa.String(26), nullable=False),
        sa.Column("person_id", sa.String(26), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("float_cents", sa.BigInteger(), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("opened_by", sa.String(128), nullable=False),
        sa.Column("closed_at", UTCDateTime()),
        sa.Column("closing_count_id", sa.String(26)),
    )
    op.create_index(
        "ix_cash_till_sessions_register", "cash_till_sessions", ["register_id", "status"]
    )
    op.create_table(
        "cash_variance_reviews",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column("count_id", sa.String(26), nullable=False, unique=True),
        sa.Column("container_id", sa.String(26), nullable=False),
        sa.Column("variance_cents", sa.BigInteger(), nullable=False),
        sa.Column("threshold_cents", sa.BigInteger(), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("due_at", UTCDateTime()),
        sa.Column("outcome", sa.String(16)),
        sa.Column("note", sa.Text()),
        sa.Column("alarm_id", sa.String(26)),
        sa.Column("camera_id", sa.String(63)),
        sa.Column("clip_url", sa.String(500)),
        sa.Column("clip_from", UTCDateTime()),
        sa.Column("clip_to", UTCDateTime()),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("escalated_at", UTCDateTime()),
        sa.Column("closed_at", UTCDateTime()),
        sa.Column("closed_by", sa.String(128)),
        sa.UniqueConstraint("count_id", name="uq_cash_variance_reviews_count_id"),
    )
    op.create_index(
        "ix_cash_variance_reviews_status", "cash_variance_reviews", ["status", "due_at"]
    )
    op.create_table(
        "cash_count_submissions",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column(
            "count_id",
            sa.String(26),
            sa.ForeignKey("cash_counts.id", name="fk_cash_count_submissions_count_id_cash_counts"),
            nullable=False,
        ),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(26)),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("denominations", sa.JSON(), nullable=False),
        sa.Column("badged", sa.Boolean(), nullable=False),
        sa.Column("submitted_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint(
            "count_id", "round", "user_id", name="uq_cash_count_submissions_counter"
        ),
    )
    op.create_table(
        "cash_entries",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column(
            "movement_id",
            sa.String(26),
            sa.ForeignKey(
                "cash_movements.id",
                ondelete="CASCADE",
                name="fk_cash_entries_movement_id_cash_movements",
            ),
            nullable=False,
        ),
        sa.Column("container_id", sa.String(26), nullable=False),
        sa.Column("delta_cents", sa.BigInteger(), nullable=False),
        sa.Column("balance_after_cents", sa.BigInteger(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_cash_entries_container", "cash_entries", ["container_id", "id"])
    op.create_table(
        "cash_pickup_attempts",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column(
            "pickup_id",
            sa.String(26),
            sa.ForeignKey("cash_pickups.id", name="fk_cash_pickup_attempts_pickup_id_cash_pickups"),
            nullable=False,
        ),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("guard_name", sa.Text()),
        sa.Column("actor", sa.String(128), nullable=False),
    )


def downgrade() -> None:
    """Drop the cash tables."""
    for table in [
        "cash_pickup_attempts",
        "cash_entries",
        "cash_count_submissions",
        "cash_variance_reviews",
        "cash_till_sessions",
        "cash_tasks",
        "cash_site_settings",
        "cash_pos_transactions",
        "cash_pos_rejections",
        "cash_pos_exceptions",
        "cash_pos_batches",
        "cash_pickups",
        "cash_movements",
        "cash_counts",
        "cash_containers",
        "cash_cashier_codes",
        "cash_carriers",
        "cash_bank_confirmations",
    ]:
        op.drop_table(table)

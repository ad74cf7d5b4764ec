"""Alarms, incidents, procedure step log, evidence; automation rules, traces, arming, bypasses.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from bastion.store.base import BigIntPK, UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alarm_incidents",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("site_id", sa.String(63)),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("zone_ids", sa.JSON(), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("last_activity_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime()),
        sa.Column("opened_by", sa.String(128), nullable=False),
        sa.Column("context_id", sa.String(26), nullable=False),
    )
    op.create_index(
        "ix_alarm_incidents_status_activity", "alarm_incidents", ["status", "last_activity_at"]
    )
    op.create_table(
        "alarms",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("site_id", sa.String(63)),
        sa.Column("alarm_type", sa.String(64), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(500), nullable=False),
        sa.Column("zone_id", sa.String(63)),
        sa.Column("door_id", sa.String(63)),
        sa.Column("device_id", sa.String(128)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("source_event_id", sa.String(26)),
        sa.Column("raised_event_id", sa.String(26), nullable=False, unique=True),
        sa.Column("context_id", sa.String(26), nullable=False),
        sa.Column("raised_by", sa.String(128), nullable=False),
        sa.Column("raised_at", UTCDateTime(), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("last_occurrence_at", UTCDateTime(), nullable=False),
        sa.Column("acknowledged_at", UTCDateTime()),
        sa.Column("acknowledged_by", sa.String(128)),
        sa.Column("investigating_at", UTCDateTime()),
        sa.Column("closed_at", UTCDateTime()),
        sa.Column("closed_by", sa.String(128)),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("ack_seconds", sa.Float()),
        sa.Column("resolve_seconds", sa.Float()),
        sa.Column("sop_id", sa.String(64)),
        sa.Column(
            "incident_id",
            sa.String(26),
            sa.ForeignKey(
                "alarm_incidents.id",
                ondelete="SET NULL",
                name="fk_alarms_incident_id_alarm_incidents",
            ),
        ),
    )
    op.create_index("ix_alarms_state_priority", "alarms", ["state", "priority"])
    op.create_index("ix_alarms_source_event", "alarms", ["source_event_id"])
    op.create_index("ix_alarms_incident", "alarms", ["incident_id"])
    op.create_index("ix_alarms_type_raised", "alarms", ["alarm_type", "raised_at"])
    op.create_table(
        "alarm_sop_steps",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column(
            "alarm_id",
            sa.String(26),
            sa.ForeignKey(
                "alarms.id", ondelete="CASCADE", name="fk_alarm_sop_steps_alarm_id_alarms"
            ),
            nullable=False,
        ),
        sa.Column("step_id", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("operator", sa.String(128), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("event_id", sa.String(26), nullable=False),
    )
    op.create_index("ix_alarm_sop_steps_alarm", "alarm_sop_steps", ["alarm_id", "id"])
    op.create_table(
        "alarm_evidence",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column(
            "alarm_id",
            sa.String(26),
            sa.ForeignKey(
                "alarms.id", ondelete="CASCADE", name="fk_alarm_evidence_alarm_id_alarms"
            ),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(200), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_alarm_evidence_alarm", "alarm_evidence", ["alarm_id"])
    op.create_table(
        "automation_rules",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "automation_traces",
        sa.Column("run_id", sa.String(26), primary_key=True),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(26)),
        sa.Column("context_id", sa.String(26), nullable=False),
        sa.Column("parent_id", sa.String(26)),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_automation_traces_rule_started", "automation_traces", ["rule_id", "started_at"]
    )
    op.create_index("ix_automation_traces_context", "automation_traces", ["context_id"])
    op.create_table(
        "zone_arming",
        sa.Column("site_id", sa.String(63), primary_key=True),
        sa.Column("zone_id", sa.String(63), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("effective_at", UTCDateTime(), nullable=False),
        sa.Column("exit_delay_s", sa.Float(), nullable=False),
        sa.Column("entry_delay_s", sa.Float(), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("changed_by", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
    )
    op.create_table(
        "sensor_bypasses",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column("device_id", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("until", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("cleared_at", UTCDateTime()),
    )
    op.create_index("ix_sensor_bypasses_device", "sensor_bypasses", ["site_id", "device_id"])


def downgrade() -> None:
    op.drop_table("sensor_bypasses")
    op.drop_table("zone_arming")
    op.drop_table("automation_traces")
    op.drop_table("automation_rules")
    op.drop_table("alarm_evidence")
    op.drop_table("alarm_sop_steps")
    op.drop_table("alarms")
    op.drop_table("alarm_incidents")

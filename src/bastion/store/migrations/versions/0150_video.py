"""Video analytics and biometric identity: analysed cameras, zone rules, detections with
evidence, biometric enrolments (encrypted, with consent) and doors needing a face match.

Revision ID: 0150_video
Revises: 0140_maintenance
"""

import sqlalchemy as sa
from alembic import op

from bastion.store.base import UTCDateTime

revision = "0150_video"
down_revision = "0140_maintenance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the video and biometric tables."""
    op.create_table(
        "video_cameras",
        sa.Column("site_id", sa.String(63), primary_key=True),
        sa.Column("camera_id", sa.String(63), primary_key=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("fps", sa.Float(), nullable=False),
        sa.Column("motion_gate", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "video_rules",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column("camera_id", sa.String(63), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("points", sa.JSON(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("zone_id", sa.String(63), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("starts", sa.String(5), nullable=True),
        sa.Column("ends", sa.String(5), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_video_rules_camera", "video_rules", ["site_id", "camera_id"])
    op.create_table(
        "video_detections",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column("camera_id", sa.String(63), nullable=False),
        sa.Column("rule_id", sa.String(26), nullable=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("label", sa.String(32), nullable=False),
        sa.Column("zone_id", sa.String(63), nullable=True),
        sa.Column("track", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("box", sa.JSON(), nullable=False),
        sa.Column("detail", sa.String(200), nullable=False),
        sa.Column("snapshot", sa.String(200), nullable=True),
        sa.Column("event_id", sa.String(26), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_video_detections_site_at", "video_detections", ["site_id", "at"])
    op.create_table(
        "biometric_enrolments",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("person_id", sa.String(26), nullable=False),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("match_hash", sa.String(64), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("template", sa.Text(), nullable=True),
        sa.Column("consent_at", UTCDateTime(), nullable=False),
        sa.Column("consent_by", sa.String(128), nullable=False),
        sa.Column("consent_text", sa.String(400), nullable=False),
        sa.Column("retain_until", UTCDateTime(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("credential_id", sa.String(26), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("site_id", "kind", "match_hash", name="uq_biometric_match"),
    )
    op.create_index("ix_biometric_person", "biometric_enrolments", ["person_id"])
    op.create_table(
        "video_face_doors",
        sa.Column("site_id", sa.String(63), primary_key=True),
        sa.Column("door_id", sa.String(63), primary_key=True),
        sa.Column("camera_id", sa.String(63), nullable=False),
        sa.Column("window_s", sa.Float(), nullable=False),
        sa.Column("min_score", sa.Float(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    """Drop the video and biometric tables."""
    op.drop_table("video_face_doors")
    op.drop_index("ix_biometric_person", table_name="biometric_enrolments")
    op.drop_table("biometric_enrolments")
    op.drop_index("ix_video_detections_site_at", table_name="video_detections")
    op.drop_table("video_detections")
    op.drop_index("ix_video_rules_camera", table_name="video_rules")
    op.drop_table("video_rules")
    op.drop_table("video_cameras")

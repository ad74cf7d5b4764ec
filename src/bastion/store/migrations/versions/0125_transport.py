"""Transport: vehicles, drivers, stored routes, trips, manifest lines, positions, hand-overs.

Revision ID: 0125_transport
Revises: 0150_video
"""

import sqlalchemy as sa
from alembic import op

from bastion.store.base import BigIntPK, UTCDateTime

revision = "0125_transport"
down_revision = "0150_video"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the transport tables."""
    op.create_table(
        "transport_vehicles",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("plate", sa.String(32), nullable=False),
        sa.Column("description", sa.String(120), nullable=False),
        sa.Column("unmarked", sa.Boolean(), nullable=False),
        sa.Column("tracker_id", sa.String(128), nullable=False),
        sa.Column("compartment_sensor", sa.String(63)),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.UniqueConstraint("tracker_id", name="uq_transport_vehicles_tracker"),
    )
    op.create_table(
        "transport_drivers",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column("person_id", sa.String(26), nullable=False),
        sa.Column("licence_number", sa.Text(), nullable=False),
        sa.Column("licence_expires_on", sa.Date(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("site_id", "person_id", name="uq_transport_drivers"),
    )
    op.create_table(
        "transport_routes",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("destination", sa.String(120), nullable=False),
        sa.Column("points", sa.JSON(), nullable=False),
        sa.Column("width_m", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_transport_routes_site_dest", "transport_routes", ["site_id", "destination"])
    op.create_table(
        "transport_trips",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("site_id", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("vehicle_id", sa.String(26), nullable=False),
        sa.Column("route_id", sa.String(26), nullable=False),
        sa.Column("crew", sa.JSON(), nullable=False),
        sa.Column("destination", sa.String(120), nullable=False),
        sa.Column("destination_licence", sa.String(64), nullable=False),
        sa.Column("destination_address", sa.String(200), nullable=False),
        sa.Column("origin_licence", sa.String(64), nullable=False),
        sa.Column("stops", sa.JSON(), nullable=False),
        sa.Column("depart_at", UTCDateTime(), nullable=False),
        sa.Column("arrive_by", UTCDateTime(), nullable=False),
        sa.Column("predictability", sa.Float(), nullable=False),
        sa.Column("pickup_id", sa.String(26)),
        sa.Column("departed_at", UTCDateTime()),
        sa.Column("arrived_at", UTCDateTime()),
        sa.Column("manifest_digest", sa.String(64)),
        sa.Column("raised", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
    )
    op.create_index("ix_transport_trips_site_status", "transport_trips", ["site_id", "status"])
    op.create_index("ix_transport_trips_vehicle", "transport_trips", ["vehicle_id", "status"])
    op.create_table(
        "transport_manifest_lines",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("trip_id", sa.String(26), sa.ForeignKey("transport_trips.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("seal", sa.String(64), nullable=False),
        sa.Column("received_quantity", sa.Float()),
        sa.Column("received_seal", sa.String(64)),
        sa.Column("scanned_out", sa.Boolean(), nullable=False),
        sa.Column("received_at", UTCDateTime()),
    )
    op.create_index("ix_transport_manifest_trip", "transport_manifest_lines", ["trip_id"])
    op.create_table(
        "transport_positions",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("vehicle_id", sa.String(26), nullable=False),
        sa.Column("trip_id", sa.String(26)),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("speed_kmh", sa.Float()),
        sa.Column("accuracy_m", sa.Float()),
        sa.Column("offset_m", sa.Float()),
        sa.Column("source", sa.String(16), nullable=False),
    )
    op.create_index("ix_transport_positions_trip", "transport_positions", ["trip_id", "at"])
    op.create_table(
        "transport_handovers",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("trip_id", sa.String(26), sa.ForeignKey("transport_trips.id"), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("door_id", sa.String(63), nullable=False),
        sa.Column("crew_person_id", sa.String(26), nullable=False),
        sa.Column("staff_person_id", sa.String(26), nullable=False),
        sa.Column("crew_access_event", sa.String(26), nullable=False),
        sa.Column("staff_access_event", sa.String(26), nullable=False),
        sa.Column("camera_id", sa.String(63)),
        sa.Column("signed_at", UTCDateTime(), nullable=False),
        sa.Column("signed_by", sa.String(128), nullable=False),
    )


def downgrade() -> None:
    """Drop the transport tables."""
    for table in (
        "transport_handovers",
        "transport_positions",
        "transport_manifest_lines",
        "transport_trips",
        "transport_routes",
        "transport_drivers",
        "transport_vehicles",
    ):
        op.drop_table(table)

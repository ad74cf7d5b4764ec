"""ORM rows of the transport domain: vehicles, drivers, stored routes, trips, manifests.

A trip's plan (time, route, destination) is known only to its crew, dispatchers and
security managers until departure. Its manifest is frozen at departure: the digest of
the lines is stored, and any change after it is refused and ledgered. Positions are
telemetry, written in batches; what they lead to (alarms, milestones) is in the ledger.
Licence numbers are personal data and live in encrypted columns.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bastion.store.base import Base, BigIntPK, JSONType, UTCDateTime
from bastion.store.crypto import EncryptedString


class Vehicle(Base):
    """A vehicle that carries product or cash, with its tracker and compartment sensor."""

    __tablename__ = "transport_vehicles"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(120))
    plate: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(String(120), default="")
    unmarked: Mapped[bool] = mapped_column(Boolean, default=True)
    tracker_id: Mapped[str] = mapped_column(String(128))
    compartment_sensor: Mapped[str | None] = mapped_column(String(63), default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(128))

    __table_args__ = (UniqueConstraint("tracker_id", name="uq_transport_vehicles_tracker"),)


class Driver(Base):
    """A person cleared to drive or ride on trips (licence and background check)."""

    __tablename__ = "transport_drivers"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    person_id: Mapped[str] = mapped_column(String(26))
    licence_number: Mapped[str] = mapped_column(EncryptedString())
    licence_expires_on: Mapped[date] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("site_id", "person_id", name="uq_transport_drivers"),)


class Route(Base):
    """A stored alternative route between the site and a destination, as a corridor."""

    __tablename__ = "transport_routes"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(120))
    destination: Mapped[str] = mapped_column(String(120))
    points: Mapped[list[list[float]]] = mapped_column(JSONType)
    width_m: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_transport_routes_site_dest", "site_id", "destination"),)


class Trip(Base):
    """One run of a vehicle from the site to a destination, with its manifest and watch state."""

    __tablename__ = "transport_trips"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(63))
    kind: Mapped[str] = mapped_column(String(16))  # product | cash
    status: Mapped[str] = mapped_column(String(16), default="planned")
    vehicle_id: Mapped[str] = mapped_column(String(26))
    route_id: Mapped[str] = mapped_column(String(26))
    crew: Mapped[list[str]] = mapped_column(JSONType, default=list)  # driver ids
    destination: Mapped[str] = mapped_column(String(120))
    destination_licence: Mapped[str] = mapped_column(String(64), default="")
    destination_address: Mapped[str] = mapped_column(String(200), default="")
    origin_licence: Mapped[str] = mapped_column(String(64), default="")
    stops: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    depart_at: Mapped[datetime] = mapped_column(UTCDateTime())
    arrive_by: Mapped[datetime] = mapped_column(UTCDateTime())
    predictability: Mapped[float] = mapped_column(Float, default=0.0)
    pickup_id: Mapped[str | None] = mapped_column(String(26), default=None)
    departed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    manifest_digest: Mapped[str | None] = mapped_column(String(64), default=None)
    raised: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)  # kind → alarm id
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(128))

    __table_args__ = (
        Index("ix_transport_trips_site_status", "site_id", "status"),
        Index("ix_transport_trips_vehicle", "vehicle_id", "status"),
    )


class ManifestLine(Base):
    """One line of a trip's manifest: a package, a sealed cash bag or a free line."""

    __tablename__ = "transport_manifest_lines"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    trip_id: Mapped[str] = mapped_column(String(26), ForeignKey("transport_trips.id"))
    kind: Mapped[str] = mapped_column(String(16))  # package | cash_bag | free
    ref: Mapped[str] = mapped_column(String(64), default="")
    description: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16))
    seal: Mapped[str] = mapped_column(String(64), default="")
    received_quantity: Mapped[float | None] = mapped_column(Float, default=None)
    received_seal: Mapped[str | None] = mapped_column(String(64), default=None)
    scanned_out: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    __table_args__ = (Index("ix_transport_manifest_trip", "trip_id"),)


class Position(Base):
    """One accepted GPS fix of a vehicle (telemetry: written in batches, never ledgered)."""

    __tablename__ = "transport_positions"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    vehicle_id: Mapped[str] = mapped_column(String(26))
    trip_id: Mapped[str | None] = mapped_column(String(26), default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    speed_kmh: Mapped[float | None] = mapped_column(Float, default=None)
    accuracy_m: Mapped[float | None] = mapped_column(Float, default=None)
    offset_m: Mapped[float | None] = mapped_column(Float, default=None)
    source: Mapped[str] = mapped_column(String(16))

    __table_args__ = (Index("ix_transport_positions_trip", "trip_id", "at"),)


class Handover(Base):
    """A dock hand-over: the dock door opened for the crew and a receiver, both signing."""

    __tablename__ = "transport_handovers"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    trip_id: Mapped[str] = mapped_column(String(26), ForeignKey("transport_trips.id"))
    direction: Mapped[str] = mapped_column(String(8))  # out | in
    door_id: Mapped[str] = mapped_column(String(63))
    crew_person_id: Mapped[str] = mapped_column(String(26))
    staff_person_id: Mapped[str] = mapped_column(String(26))
    crew_access_event: Mapped[str] = mapped_column(String(26))
    staff_access_event: Mapped[str] = mapped_column(String(26))
    camera_id: Mapped[str | None] = mapped_column(String(63), default=None)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    signed_by: Mapped[str] = mapped_column(String(128))

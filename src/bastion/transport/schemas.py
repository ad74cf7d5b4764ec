"""API shapes of the transport domain (times in UTC; the console shows the site's zone)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """Bodies refuse unknown fields, so a typo is an error and not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class VehicleCreate(Strict):
    """A vehicle to register."""

    name: str = Field(min_length=1, max_length=120)
    plate: str = Field(min_length=1, max_length=32)
    tracker_id: str = Field(
        min_length=1, max_length=128, description="OwnTracks user/device or OsmAnd id."
    )
    unmarked: bool = True
    description: str = Field(default="", max_length=120)
    compartment_sensor: str | None = Field(default=None, max_length=63)


class VehicleRead(BaseModel):
    """A registered vehicle."""

    id: str
    name: str
    plate: str
    description: str
    unmarked: bool
    tracker_id: str
    compartment_sensor: str | None
    active: bool


class DriverCreate(Strict):
    """A driver to register (an employee of the site)."""

    person_id: str = Field(min_length=1, max_length=26)
    licence_number: str = Field(min_length=1, max_length=64)
    licence_expires_on: date


class DriverRead(BaseModel):
    """A driver, by name (never the licence number)."""

    id: str
    person_id: str
    name: str
    licence_expires_on: date


class RouteCreate(Strict):
    """A stored alternative route."""

    name: str = Field(min_length=1, max_length=120)
    destination: str = Field(min_length=1, max_length=120)
    points: list[list[float]] = Field(description="[lon, lat] pairs, at least two.")
    width_m: int = Field(ge=20, le=5000)


class RouteRead(BaseModel):
    """A stored route and its corridor width."""

    id: str
    name: str
    destination: str
    points: list[list[float]]
    width_m: int


class WindowIn(Strict):
    """A span in which a departure is allowed."""

    start: datetime
    end: datetime


class LineCreate(Strict):
    """A manifest line."""

    kind: Literal["package", "cash_bag", "free"]
    description: str = Field(min_length=1, max_length=200)
    quantity: float = Field(gt=0)
    unit: str = Field(default="each", max_length=16)
    ref: str = Field(default="", max_length=64, description="Package tag or cash bag id.")
    seal: str = Field(default="", max_length=64)


class StopIn(Strict):
    """A planned stop (the last one is the destination)."""

    name: str = Field(min_length=1, max_length=80)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class TripCreate(Strict):
    """A trip to plan."""

    kind: Literal["product", "cash"]
    vehicle_id: str
    destination: str = Field(min_length=1, max_length=120)
    destination_licence: str = Field(default="", max_length=64)
    destination_address: str = Field(default="", max_length=200)
    crew: list[str] = Field(min_length=1, max_length=4, description="Driver ids.")
    lines: list[LineCreate] = Field(min_length=1, max_length=500)
    windows: list[WindowIn] = Field(min_length=1, max_length=20)
    duration_minutes: int = Field(ge=1, le=24 * 60)
    stops: list[StopIn] = Field(
        min_length=1, description="Planned stops; the last is the destination."
    )
    route_id: str | None = None
    pickup_id: str | None = None


class LineRead(BaseModel):
    """A manifest line with what was received."""

    id: int
    kind: str
    ref: str
    description: str
    quantity: float
    unit: str
    seal: str
    received_quantity: float | None
    received_seal: str | None


class TripRead(BaseModel):
    """A trip, its crew, timings, alarms and manifest."""

    id: str
    kind: str
    status: str
    vehicle_id: str
    vehicle: str
    route_id: str
    destination: str
    destination_licence: str
    origin_licence: str
    crew: list[str]
    crew_names: list[str]
    depart_at: datetime
    arrive_by: datetime
    departed_at: datetime | None
    arrived_at: datetime | None
    predictability: float
    manifest_digest: str | None
    alarms: dict[str, str]
    lines: list[LineRead]


class ReceivedIn(Strict):
    """What was received for one line."""

    line_id: int
    quantity: float = Field(ge=0)
    seal: str = Field(default="", max_length=64)


class ReceiveIn(Strict):
    """What was received for a trip."""

    lines: list[ReceivedIn] = Field(min_length=1)


class CancelIn(Strict):
    """Why a trip is cancelled."""

    reason: str = Field(min_length=1, max_length=200)


class DockOpen(Strict):
    """Open a trip's dock window for its crew and receivers."""

    direction: Literal["out", "in"]
    door_id: str = Field(min_length=1, max_length=63)
    staff: list[str] = Field(min_length=1, max_length=6, description="Receiving staff person ids.")


class HandoverIn(Strict):
    """A dock hand-over signed by a crew member and a receiver."""

    direction: Literal["out", "in"]
    door_id: str = Field(min_length=1, max_length=63)
    crew_person_id: str
    staff_person_id: str
    scanned: list[str] = Field(default_factory=list, max_length=500)


class HandoverRead(BaseModel):
    """A signed dock hand-over."""

    id: str
    direction: str
    door_id: str
    crew_person_id: str
    staff_person_id: str
    camera_id: str | None
    signed_at: datetime


class PositionRead(BaseModel):
    """A stored position of a trip."""

    at: datetime
    lat: float
    lon: float
    speed_kmh: float | None
    offset_m: float | None


class GpsStats(BaseModel):
    """GPS reports accepted and refused since the server started."""

    accepted: int
    refused: dict[str, int]
    on_road: int

"""API shapes of upkeep: health, recording checks, view checks, walk tests, schedules, assets."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class DayUptime(BaseModel):
    """Uptime of one device on one day of the site's calendar."""

    day: date
    uptime_pct: float


class DeviceHealthRead(BaseModel):
    """A device's health now and over the period."""

    device_id: str
    name: str
    kind: str
    condition: str | None = Field(description="offline, flapping, degraded, or None when fine.")
    uptime_pct: float
    failures: int
    mtbf_h: float | None
    down_now: bool
    days: list[DayUptime]


class RecordingCheckCreate(BaseModel):
    """Check the recordings of some cameras (all of the site's when none are named)."""

    model_config = ConfigDict(extra="forbid")

    camera_ids: list[str] = Field(default_factory=list, max_length=256)
    start: datetime
    end: datetime


class RecordingCheckRead(_Out):
    """Proof of recording of one camera over a period."""

    id: str
    camera_id: str
    source: str
    period_start: datetime
    period_end: datetime
    state: str
    coverage_pct: float | None
    recorded_s: float | None
    segments: int
    gaps: list[list[float]]
    warnings: list[str]
    checked_at: datetime
    checked_by: str


class AreaRead(BaseModel):
    """Recording of one required area."""

    zone_id: str
    name: str
    cameras: list[str]
    state: str
    coverage_pct: float | None
    gaps: list[list[float]]
    detail: str


class CoverageReport(BaseModel):
    """The result of a recording check: each camera and each required area."""

    cameras: list[RecordingCheckRead]
    areas: list[AreaRead]


class ViewCheckRead(_Out):
    """A camera snapshot compared with its reference view."""

    id: str
    camera_id: str
    verdict: str
    detail: str
    scores: dict[str, Any]
    snapshot_file: str | None
    reference_file: str | None
    checked_at: datetime
    checked_by: str


class WalkTestCreate(BaseModel):
    """Start a walk test of a zone."""

    model_config = ConfigDict(extra="forbid")

    zone_id: str = Field(min_length=1, max_length=63)
    minutes: float = Field(default=30, gt=0, le=240)


class WalkDeviceRead(_Out):
    """One device of a walk test."""

    device_id: str
    result: str
    seen_at: datetime | None


class WalkTestRead(_Out):
    """A walk test and its devices."""

    id: str
    zone_id: str
    state: str
    started_at: datetime
    ends_at: datetime
    started_by: str
    finished_at: datetime | None
    devices: list[WalkDeviceRead] = Field(default_factory=list)


class ScheduleCreate(BaseModel):
    """Add a recurring maintenance task."""

    model_config = ConfigDict(extra="forbid")

    task: str = Field(min_length=1, max_length=32)
    every_days: int | None = Field(default=None, ge=1, le=3660)
    first_due: datetime | None = None
    zone_id: str | None = Field(default=None, max_length=63)


class ScheduleRead(_Out):
    """A recurring maintenance task."""

    id: str
    task: str
    title: str
    every_days: int
    zone_id: str | None
    next_due: datetime
    last_done: datetime | None


class WorkOrderRead(_Out):
    """A piece of maintenance to do, with its checklist."""

    id: str
    schedule_id: str | None
    task: str
    title: str
    state: str
    checklist: list[dict[str, Any]]
    due_at: datetime
    done_at: datetime | None
    done_by: str | None
    note: str


class WorkOrderComplete(BaseModel):
    """Complete a work order: the checklist items done, and a note."""

    model_config = ConfigDict(extra="forbid")

    done: list[str] = Field(default_factory=list, max_length=100)
    note: str = Field(default="", max_length=2000)


class AssetRead(_Out):
    """One device of the asset register."""

    device_id: str
    kind: str
    model: str
    firmware: str
    installed_on: date | None
    warranty_until: date | None
    end_of_life: date | None
    replacement_cents: int | None


class AssetUpdate(BaseModel):
    """Change what is known about a device (only the fields given)."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(default=None, max_length=120)
    firmware: str | None = Field(default=None, max_length=64)
    installed_on: date | None = None
    warranty_until: date | None = None
    end_of_life: date | None = None
    replacement_cents: int | None = Field(default=None, ge=0)


class UpgradeRead(BaseModel):
    """A device to plan replacing."""

    device_id: str
    name: str
    reasons: list[str]
    replacement_cents: int | None


class FindingRead(BaseModel):
    """One weakness of the site's security system and its fix."""

    kind: str
    target: str
    problem: str
    fix: str
    weight: int


class HardeningRead(BaseModel):
    """The hardening score now, its findings, and the recorded scores (trend)."""

    score: int
    findings: list[FindingRead]
    trend: list[tuple[datetime, int]]

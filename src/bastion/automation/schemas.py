"""API shapes of the automation domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bastion.core.inputs import Whole


class TraceRead(BaseModel):
    """A stored rule trace."""

    model_config = ConfigDict(from_attributes=True)

    run_id: str = Field(description="Run id.")
    rule_id: str = Field(description="Rule.")
    event_id: str | None = Field(description="Trigger event (None for schedules).")
    context_id: str = Field(description="The run's context.")
    parent_id: str | None = Field(description="The trigger event's context.")
    outcome: str = Field(description="ran, condition_failed, skipped, cancelled, error, dry_run.")
    steps: list[dict[str, Any]] = Field(description="Trace elements in order.")
    error: str = Field(description="Error or skip reason.")
    started_at: datetime = Field(description="Start.")
    finished_at: datetime = Field(description="End.")


class ArmingRequest(BaseModel):
    """Arm or disarm a zone."""

    model_config = ConfigDict(extra="forbid")

    armed: bool = Field(description="True to arm, False to disarm.")
    exit_delay_s: float = Field(default=0, ge=0, le=600, description="Exit delay in seconds.")
    entry_delay_s: float = Field(default=0, ge=0, le=600, description="Entry delay in seconds.")
    reason: str = Field(default="", max_length=500, description="Why.")


class BypassRequest(BaseModel):
    """Bypass a faulty sensor."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500, description="Why.")
    until: datetime = Field(description="Expiry (UTC).")


class ThreatRequest(BaseModel):
    """Set the threat level."""

    model_config = ConfigDict(extra="forbid")

    level: Whole = Field(ge=0, le=10, description="0 is normal.")
    name: str = Field(default="", max_length=50, description="Display name.")
    reason: str = Field(default="", max_length=500, description="Why.")


class DoorCommandRequest(BaseModel):
    """Lock or unlock a door, or lock down a zone."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=500, description="Why.")

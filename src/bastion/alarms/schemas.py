"""API shapes of the alarms domain (separate from the ORM models)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AlarmRead(BaseModel):
    """An alarm as the queue shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: str = Field(description="Alarm id.")
    site_id: str | None = Field(description="Site id.")
    alarm_type: str = Field(description="Type code.")
    priority: int = Field(description="1 is most urgent.")
    message: str = Field(description="One-line summary.")
    zone_id: str | None = Field(description="Zone.")
    door_id: str | None = Field(description="Door.")
    device_id: str | None = Field(description="Device.")
    state: str = Field(description="raised, acknowledged, investigating, resolved, false_alarm.")
    raised_at: datetime = Field(description="When it was raised.")
    occurrences: int = Field(description="How often it repeated while open.")
    acknowledged_at: datetime | None = Field(description="When it was acknowledged.")
    closed_at: datetime | None = Field(description="When it was resolved or dismissed.")
    ack_seconds: float | None = Field(description="Raise → acknowledge, seconds.")
    resolve_seconds: float | None = Field(description="Acknowledge → close, seconds.")
    reason: str = Field(description="Closing note or false-alarm reason.")
    sop_id: str | None = Field(description="Procedure.")
    incident_id: str | None = Field(description="Incident.")
    source_event_id: str | None = Field(description="Event that caused it.")


class StepRead(BaseModel):
    """A logged procedure step."""

    model_config = ConfigDict(from_attributes=True)

    step_id: str = Field(description="Step id.")
    outcome: str = Field(description="done or skipped.")
    answer: str = Field(description="Answer given.")
    reason: str = Field(description="Skip reason.")
    operator: str = Field(description="Who.")
    at: datetime = Field(description="When.")


class EvidenceRead(BaseModel):
    """Evidence attached to an alarm."""

    model_config = ConfigDict(from_attributes=True)

    kind: str = Field(description="event, bookmark or note.")
    ref: str = Field(description="Event id, camera id or note.")
    detail: dict[str, Any] = Field(description="Extra facts.")
    at: datetime = Field(description="When it was attached.")


class ProcedureStep(BaseModel):
    """One step of a procedure as the console shows it."""

    id: str = Field(description="Step id.")
    prompt: str = Field(description="What to do.")
    answers: list[str] = Field(description="Possible answers (empty: free text).")


class AlarmDetail(BaseModel):
    """An alarm with its procedure state, step log and evidence."""

    alarm: AlarmRead = Field(description="The alarm.")
    procedure: list[ProcedureStep] = Field(description="Steps of its procedure.")
    current_step: str | None = Field(description="Step now due (None: complete).")
    steps: list[StepRead] = Field(description="Logged steps.")
    evidence: list[EvidenceRead] = Field(description="Evidence.")


class StepAnswer(BaseModel):
    """Complete the current step."""

    model_config = ConfigDict(extra="forbid")

    answer: str = Field(default="", max_length=2000, description="Answer given.")


class StepSkip(BaseModel):
    """Skip the current step."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000, description="Why (supervisor notified).")


class CloseRequest(BaseModel):
    """Resolve (note) or dismiss (reason) an alarm."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=2000, description="Closing note or reason.")


class IncidentRead(BaseModel):
    """An incident."""

    model_config = ConfigDict(from_attributes=True)

    id: str = Field(description="Incident id.")
    site_id: str | None = Field(description="Site.")
    title: str = Field(description="Summary.")
    status: str = Field(description="open or closed.")
    priority: int = Field(description="Most urgent alarm's priority.")
    zone_ids: list[str] = Field(description="Zones involved.")
    opened_at: datetime = Field(description="Opened.")
    last_activity_at: datetime = Field(description="Last activity.")
    closed_at: datetime | None = Field(description="Closed.")


class BulkAcknowledge(BaseModel):
    """Acknowledge several alarms at once, with one reason."""

    model_config = ConfigDict(extra="forbid")

    alarm_ids: list[str] = Field(min_length=1, max_length=500, description="Alarms to acknowledge.")
    reason: str = Field(min_length=1, max_length=2000, description="Why, in the operator's words.")


class BulkAcknowledged(BaseModel):
    """What a bulk acknowledge did."""

    acknowledged: list[str] = Field(description="Alarms acknowledged now.")
    skipped: dict[str, str] = Field(description="Alarms left as they were, and why.")

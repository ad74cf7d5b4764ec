"""API shapes of playbooks, runs, drill reports, mustering and timelines."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StepInfo(BaseModel):
    """A step as the playbook defines it."""

    id: str
    title: str
    kind: str
    prompt: str
    target_s: float | None
    after: bool
    automatic: bool


class PlaybookSummary(BaseModel):
    """A playbook in the list."""

    id: str
    name: str
    scenario: str
    description: str
    shipped: bool
    source: str
    triggers: list[str]
    steps: int


class PlaybookRead(PlaybookSummary):
    """A playbook with its steps and the problems found against this installation."""

    step_list: list[StepInfo]
    problems: list[str] = Field(default_factory=list)


class PlaybookList(BaseModel):
    """Every loaded playbook, plus the files that could not be loaded."""

    playbooks: list[PlaybookSummary]
    load_errors: list[str]


class RunStart(_Strict):
    """Start a playbook now, for real or as a drill."""

    site_id: str | None = Field(default=None, max_length=63, description="Site (default: only).")
    zone_id: str | None = Field(default=None, max_length=63, description="Zone concerned.")
    drill: bool = Field(default=False, description="Exercise mode: nothing sent, no door moved.")
    note: str = Field(default="", max_length=2000, description="Operator note for the messages.")


class StepComplete(_Strict):
    """Complete or skip a step; form steps carry their answers."""

    outcome: Literal["done", "skipped"] = Field(default="done", description="done or skipped.")
    note: str = Field(default="", max_length=2000, description="What was done, or why skipped.")
    answers: dict[str, Any] | None = Field(default=None, description="Form answers (form steps).")
    person_id: str | None = Field(
        default=None, max_length=64, description="Person reviewed (timeline steps)."
    )
    confirm_unaccounted: bool = Field(
        default=False,
        description=(
            "Complete a roll-call step although people are still unaccounted or missing "
            "(without it such a completion is refused with their names)."
        ),
    )


class StepRead(BaseModel):
    """A step of a run, timed from the start."""

    step_id: str
    title: str
    kind: str
    after: bool
    target_s: float | None
    status: str
    completed_at: datetime | None
    elapsed_s: float | None
    completed_by: str | None
    detail: str
    notify_run_id: str | None
    late: bool


class RunRead(BaseModel):
    """A run (or drill) of a playbook."""

    id: str
    playbook_id: str
    playbook_name: str
    site_id: str | None
    zone_id: str | None
    drill: bool
    status: str
    trigger_type: str | None
    trigger_event_id: str | None
    started_at: datetime
    started_by: str
    finished_at: datetime | None
    muster_started_at: datetime | None
    steps: list[StepRead]


class Gap(BaseModel):
    """Something a drill (or run) report flags."""

    kind: Literal["missed", "slow", "failed", "unacknowledged", "unaccounted"]
    step_id: str | None = None
    detail: str


class RunReport(BaseModel):
    """The timed steps of a run with the gaps they show."""

    run: RunRead
    duration_s: float
    gaps: list[Gap]
    acknowledged: list[str]
    unacknowledged: list[str]


class MusterEntryRead(BaseModel):
    """One person at a muster."""

    subject: str
    name: str
    source: str
    zone_id: str | None
    zone_name: str | None
    status: str
    marked_at: datetime | None
    elapsed_s: float | None
    late_arrival: bool = False


class MusterRead(BaseModel):
    """Who is (or was) on site and who has been accounted for."""

    run_id: str | None
    site_id: str
    started_at: datetime | None
    total: int
    safe: int
    missing: int
    unaccounted: int
    by_zone: dict[str, int]
    people: list[MusterEntryRead]


class MusterMark(_Strict):
    """A roll-call mark."""

    status: Literal["safe", "missing", "unaccounted"] = Field(default="safe")


class TimelineItem(BaseModel):
    """One entry of a person's timeline."""

    time: datetime
    source: Literal["access", "alarm", "ledger"]
    type: str
    summary: str
    event_id: str | None = None

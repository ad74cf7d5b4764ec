"""API shapes of the safety domain (PINs are write-only; personal text is never logged)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from bastion.core.sitetime import known_zone

PIN = r"^\d{4,8}$"
HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
Level = Literal["low", "moderate", "elevated", "high"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- guide -----------------------------------------------------------------------------------


class GuideItem(BaseModel):
    """A checklist entry or question of the guide."""

    id: str
    text: str
    group: str = ""
    section: str = ""


class GuideRead(BaseModel):
    """The guide's data the forms are built from."""

    factors: list[GuideItem]
    sections: dict[str, str]
    warning_signs: list[GuideItem]
    item_indicators: list[GuideItem]
    threat_call_steps: list[GuideItem]
    voice_traits: list[str]
    background_noises: list[str]
    doxing_steps: list[GuideItem]
    exposure_kinds: list[str]


# --- assessments -----------------------------------------------------------------------------


class AssessmentCreate(_Strict):
    """Answers to the guide's risk factors (yes/no); unknown factors are refused."""

    answers: dict[str, bool] = Field(
        title="Answers", description="Factor id → yes/no, e.g. working_alone: true."
    )
    notes: str | None = Field(
        default=None, max_length=4000, title="Notes", description="Private notes (encrypted)."
    )


class PlanItemRead(BaseModel):
    """One action of the plan and whether it is done."""

    action_id: str
    section: str
    text: str
    done: bool
    done_at: datetime | None


class AssessmentRead(BaseModel):
    """An assessment with its level, tailored plan and progress."""

    id: str
    owner_id: int
    answers: dict[str, bool]
    notes: str | None
    level: Level
    score: int
    shared: bool
    created_at: datetime
    updated_at: datetime
    plan: list[PlanItemRead]
    done: int
    total: int
    progress: float = Field(description="Share of plan actions done, 0–1.")


class ActionUpdate(_Strict):
    """Mark a plan action done or not done."""

    done: bool = Field(title="Done", description="True once the action is in place.")


class SharingUpdate(_Strict):
    """Share an assessment with security staff, or withdraw it."""

    shared: bool = Field(title="Shared", description="True to let security staff read it.")


# --- PINs and lone-worker timers -------------------------------------------------------------


class PinsUpdate(_Strict):
    """Set the check-in PIN and the duress PIN (4–8 digits each, different)."""

    checkin_pin: str = Field(pattern=PIN, title="Check-in PIN", description="4–8 digits.")
    duress_pin: str = Field(pattern=PIN, title="Duress PIN", description="4–8 digits.")

    def __repr__(self) -> str:
        return "PinsUpdate(<redacted>)"

    __str__ = __repr__

    @model_validator(mode="after")
    def verify_pins_differ(self) -> PinsUpdate:
        """Refuse a duress PIN equal to the check-in PIN."""
        if self.checkin_pin == self.duress_pin:
            raise ValueError("the duress PIN must differ from the check-in PIN")
        return self


class PinsRead(BaseModel):
    """Whether PINs are set (never the PINs)."""

    configured: bool
    updated_at: datetime | None


class TimerCreate(_Strict):
    """Start a lone-worker timer for a task or visit."""

    task: str = Field(min_length=1, max_length=500, title="Task", description="Task or visit.")
    interval_minutes: int = Field(
        ge=1, le=24 * 60, title="Interval", description="Minutes until the next check-in."
    )
    location: str | None = Field(
        default=None, max_length=500, title="Location", description="Where (encrypted)."
    )
    call_tree_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=120,
        title="Call tree",
        description="Tree (name or id) to start when a check-in is missed (default: the site's).",
    )
    site_id: str | None = Field(
        default=None,
        max_length=63,
        title="Site",
        description="Site of the task, whose safety call tree is the default (needed at several).",
    )


class _PinField(_Strict):
    pin: str | None = Field(
        default=None, pattern=PIN, title="PIN", description="Check-in PIN, when set."
    )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<redacted>)"

    __str__ = __repr__


class CheckIn(_PinField):
    """Check in: I am fine (optionally with a new location)."""

    location: str | None = Field(
        default=None, max_length=500, title="Location", description="Where (encrypted)."
    )
    duress: bool = Field(
        default=False, title="Duress", description="Silent call for help; looks normal."
    )


class Extend(_PinField):
    """Push the next check-in further out."""

    minutes: int = Field(ge=1, le=24 * 60, title="Minutes", description="Extra minutes.")


class Finish(_PinField):
    """End the timer: the task or visit is over."""


class TimerRead(BaseModel):
    """A timer as its worker sees it (identical after a duress check-in)."""

    id: str
    task: str
    location: str | None
    interval_s: int
    status: Literal["active", "missed", "finished"]
    started_at: datetime
    due_at: datetime
    last_checkin_at: datetime | None
    checkins: int
    finished_at: datetime | None


class StaffTimerRead(TimerRead):
    """A timer as security staff see it."""

    owner_id: int
    missed_at: datetime | None
    run_id: str | None


# --- reports ---------------------------------------------------------------------------------


class _ReportFields(_Strict):
    description: str = Field(
        min_length=1, max_length=8000, title="Description", description="What you saw."
    )
    location: str | None = Field(
        default=None, max_length=500, title="Location", description="Where (encrypted)."
    )
    occurred_at: AwareDatetime | None = Field(
        default=None, title="When", description="When it happened (default: now)."
    )


class SuspiciousActivityCreate(_ReportFields):
    """Report suspicious activity: the guide's warning signs plus free text."""

    warning_signs: list[str] = Field(
        default_factory=list, max_length=20, title="Warning signs", description="Sign ids."
    )
    anonymous: bool = Field(
        default=False, title="Anonymous", description="File without your name attached."
    )


class SuspiciousItemCreate(_ReportFields):
    """Report a suspicious or unattended item."""

    indicators: list[str] = Field(
        default_factory=list, max_length=20, title="Indicators", description="Indicator ids."
    )


class ThreatCallCreate(_Strict):
    """The threat-call checklist: exact words, caller number, voice, background, time."""

    exact_words: str = Field(
        min_length=1, max_length=8000, title="Exact words", description="Threat, word for word."
    )
    call_time: AwareDatetime = Field(title="Time", description="When the call came in.")
    caller_number: str | None = Field(
        default=None, max_length=64, title="Caller number", description="Caller ID shown."
    )
    duration_s: int | None = Field(
        default=None, ge=0, le=86400, title="Duration", description="Length of the call."
    )
    voice: list[str] = Field(
        default_factory=list, max_length=26, title="Voice", description="Voice traits."
    )
    background: list[str] = Field(
        default_factory=list, max_length=14, title="Background", description="Noises heard."
    )
    notes: str | None = Field(
        default=None, max_length=8000, title="Notes", description="Anything else."
    )
    steps_taken: list[str] = Field(
        default_factory=list, max_length=5, title="Steps taken", description="Checklist ids."
    )


class ReportFiled(BaseModel):
    """The answer to a filed report."""

    id: str
    kind: str
    status: str
    created_at: datetime


class CaseStepRead(BaseModel):
    """One recorded doxing-response step."""

    step: str
    notes: str
    exposed: list[str]
    platforms: list[str]
    recorded_at: datetime


class ReportRead(BaseModel):
    """A report as security staff (or its reporter) see it."""

    id: str
    kind: str
    anonymous: bool
    reporter_id: int | None
    indicators: list[str]
    details: dict[str, object]
    priority: int
    status: str
    occurred_at: datetime | None
    created_at: datetime
    steps: list[CaseStepRead] = Field(default_factory=list)
    next_step: str | None = None


# --- doxing ----------------------------------------------------------------------------------


class DoxingCreate(_Strict):
    """Open a doxing response: what happened."""

    description: str = Field(
        min_length=1, max_length=8000, title="Description", description="What was released."
    )


class DoxingStepCreate(_Strict):
    """Record one step of the doxing response."""

    step: Literal["document", "assess", "report", "lock_down", "monitor"] = Field(
        title="Step", description="document, assess, report, lock_down or monitor."
    )
    notes: str = Field(
        default="", max_length=8000, title="Notes", description="What you did (encrypted)."
    )
    exposed: list[str] = Field(
        default_factory=list, max_length=10, title="Exposed", description="What was exposed."
    )
    platforms: list[str] = Field(
        default_factory=list,
        max_length=50,
        title="Platforms",
        description="Platforms reported to or locked down.",
    )


# --- varied routines -------------------------------------------------------------------------


class RoutineCreate(_Strict):
    """A recurring trip with the window its departures must fall in."""

    name: str = Field(min_length=1, max_length=200, title="Name", description="e.g. cash pickup.")
    window_start: str = Field(
        pattern=HHMM,
        title="From",
        description="Earliest departure HH:MM on the site's clock (see 'timezone').",
    )
    window_end: str = Field(
        pattern=HHMM,
        title="Until",
        description="Latest departure HH:MM on the site's clock (see 'timezone').",
    )
    timezone: str | None = Field(
        default=None,
        max_length=64,
        title="Time zone",
        description=(
            "IANA zone the window is in, e.g. America/Los_Angeles "
            "(default: the site's; UTC when no site is loaded)."
        ),
    )
    routes: list[str] = Field(
        default_factory=list, max_length=20, title="Routes", description="Route names."
    )

    @model_validator(mode="after")
    def verify_window(self) -> RoutineCreate:
        """Refuse an empty or backwards window, and a zone nobody knows."""
        if self.window_start >= self.window_end:
            raise ValueError("window_start must be before window_end")
        if self.timezone is not None and not known_zone(self.timezone):
            raise ValueError(
                f"timezone: {self.timezone!r} is not a time zone; use a name such as "
                "America/Los_Angeles"
            )
        return self


class TripCreate(_Strict):
    """Record one departure of a routine."""

    departed_at: AwareDatetime = Field(title="Departed", description="Departure time.")
    route: str | None = Field(default=None, max_length=200, title="Route", description="Taken.")


class RoutineRead(BaseModel):
    """A routine and its window."""

    id: str
    name: str
    window_start: str
    window_end: str
    timezone: str = Field(description="The zone the window is in.")
    routes: list[str]
    trips: int
    created_at: datetime


class Suggestion(BaseModel):
    """One suggested departure."""

    depart_at: datetime
    route: str | None


class RoutineAnalysis(BaseModel):
    """How predictable a routine has become, and varied departures to use next."""

    routine_id: str
    trips_considered: int
    time_spread_minutes: float | None
    predictable_time: bool
    predictable_route: bool
    findings: list[str]
    suggestions: list[Suggestion]

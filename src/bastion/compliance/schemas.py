"""API bodies and answers of the compliance routes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bastion.compliance.profile import LicenseType


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("give the time zone, e.g. 2026-12-01T22:00:00Z")
    return value


class SettingsIn(_In):
    """A site's state, licence type and profile."""

    state: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    license: LicenseType | None = None
    profile: dict[str, Any] = Field(default_factory=dict)


class SettingsRead(BaseModel):
    """A site's compliance settings."""

    site_id: str
    state: str | None
    license: str | None
    profile: dict[str, Any]


class RecordIn(_In):
    """A dated record: a count, a review, an attestation (with its document)."""

    kind: str = Field(min_length=1, max_length=40)
    at: datetime
    by: str | None = Field(default=None, max_length=120)
    rule: str | None = Field(default=None, max_length=20)
    document: str | None = Field(default=None, max_length=500)
    note: str | None = Field(default=None, max_length=2000)
    detail: dict[str, str | int | float | bool | None] = Field(default_factory=dict)

    _at = field_validator("at")(_aware)


class RecordRead(BaseModel):
    """A stored record."""

    id: str
    kind: str
    rule: str | None
    at: datetime
    by: str | None
    document: str | None
    note: str | None
    detail: dict[str, Any]
    redacted: bool


class IncidentIn(_In):
    """A reportable incident."""

    type: str = Field(min_length=1, max_length=40)
    discovered_at: datetime
    description: str = Field(min_length=3, max_length=2000)

    _at = field_validator("discovered_at")(_aware)


class TaskLine(BaseModel):
    """A regulator-notice task with its deadline."""

    id: str
    title: str
    detail: str
    due_at: datetime | None
    status: str


class IncidentRead(BaseModel):
    """An incident and the notice tasks it opened."""

    record: RecordRead
    tasks: list[TaskLine]


class NotifiedIn(_In):
    """The filed notice of an incident."""

    notified_at: datetime
    reference: str = Field(min_length=1, max_length=200)

    _at = field_validator("notified_at")(_aware)


class OverrideIn(_In):
    """New parameters for one rule, with the reason."""

    params: dict[str, Any]
    reason: str = Field(min_length=3, max_length=500)


class HoldIn(_In):
    """A legal hold on a record class."""

    record_class: str
    reason: str = Field(min_length=3, max_length=500)


class HoldRead(BaseModel):
    """A legal hold."""

    id: str
    record_class: str
    reason: str
    placed_at: datetime
    released_at: datetime | None


class PolicyRead(BaseModel):
    """How long a record class is kept, and why."""

    record_class: str
    days: int | None
    reason: str


class RetentionRead(BaseModel):
    """A site's retention policy and holds."""

    state: str
    policy: list[PolicyRead]
    holds: list[HoldRead]


class ActionIn(_In):
    """A corrective action for a finding."""

    rule: str = Field(min_length=3, max_length=20)
    title: str = Field(min_length=3, max_length=200)
    owner: str = Field(min_length=1, max_length=120)
    due_on: date


class CloseIn(_In):
    """What was done to close a corrective action."""

    note: str = Field(min_length=3, max_length=2000)


class ActionRead(BaseModel):
    """A corrective action."""

    id: str
    rule: str
    title: str
    owner: str
    due_on: date
    status: str
    closed_at: datetime | None
    note: str | None


class FindingRead(BaseModel):
    """One rule's result."""

    rule: str
    citation: str
    status: str
    confidence: str
    title: str
    area: str
    severity: str
    kind: str
    evidence: list[str]
    override_reason: str | None


class ReportRead(BaseModel):
    """A check of a site."""

    state: str
    site: str
    license: str | None
    at: datetime
    counts: dict[str, int]
    score: int
    findings: list[FindingRead]
    problems: list[str]

"""API shapes of the employee, offboarding, access-review and visitor routes.

Document numbers, background-check references and watchlist reasons are accepted
but never returned; ``repr`` of every request model leaves personal data out.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(…)"


# --- employees -----------------------------------------------------------------------------------


class EmployeeCreate(_Strict):
    """A new employee or contractor; the background check starts as pending."""

    name: str = Field(min_length=1, max_length=200, description="Full name (stored encrypted).")
    kind: Literal["employee", "contractor"] = Field(default="employee", description="Kind.")
    role: str = Field(default="", max_length=64, description="Role, mapped to access levels.")
    site_id: str | None = Field(default=None, description="Site, or None for every site.")
    manager_id: str | None = Field(default=None, description="Manager's person id.")
    allow_duplicate: bool = Field(
        default=False, description="Enrol even though someone with this name is enrolled."
    )


class TrainingRead(BaseModel):
    """The latest record of one course."""

    course: str
    completed_at: datetime
    expires_at: datetime | None
    evidence: str | None
    state: Literal["current", "expiring", "expired"]


class EmployeeRead(BaseModel):
    """An employee or contractor with their hiring-gate and training state."""

    id: str
    name: str
    kind: str
    role: str
    status: str
    site_id: str | None
    manager_id: str | None
    contact_id: str | None
    user_id: int | None
    background_check: str
    background_checked_on: date | None
    background_expires_on: date | None
    background_current: bool
    levels: list[str]
    training: list[TrainingRead]


class BackgroundCheckWrite(_Strict):
    """A background-check result; the reference is stored encrypted and never shown."""

    status: Literal["pending", "cleared", "failed", "expired", "not_required"]
    checked_on: date | None = Field(default=None, description="Date of the result.")
    reference: str | None = Field(default=None, max_length=100, description="Provider reference.")
    expires_on: date | None = Field(default=None, description="When it must be redone.")


class TrainingCreate(_Strict):
    """A completed course with its evidence file reference."""

    course: str = Field(min_length=1, max_length=64, description="Course code.")
    completed_at: datetime = Field(description="When it was completed (aware).")
    expires_at: datetime | None = Field(default=None, description="When it lapses (aware).")
    evidence: str | None = Field(
        default=None, max_length=300, description="Where the certificate is filed."
    )


class LinksWrite(_Strict):
    """Manager and notification contact of a person (omit a field to keep it)."""

    manager_id: str | None = Field(default=None, description="Manager's person id.")
    contact_id: str | None = Field(default=None, description="Notification contact id.")
    clear_manager: bool = False
    clear_contact: bool = False


class AccountLink(_Strict):
    """The operator account of a person (None unlinks)."""

    user_id: int | None = Field(description="Operator account id.")


class LevelGrant(_Strict):
    """A level to give through the hiring gate."""

    level_id: str = Field(min_length=1, max_length=63)


class RoleLevelsWrite(_Strict):
    """The levels a role needs (least privilege)."""

    levels: list[str] = Field(max_length=100)


class RoleApply(_Strict):
    """Apply a person's role: grant its levels; optionally take away the rest."""

    remove_excess: bool = False


class RoleAppliedRead(BaseModel):
    """What applying a role did."""

    granted: list[str]
    removed: list[str]
    excess: list[str]
    blocked: dict[str, str]


class ExpiringRead(BaseModel):
    """Training that expires soon."""

    person_id: str
    name: str
    course: str
    expires_at: datetime
    warned_at: datetime | None


# --- access review -------------------------------------------------------------------------------


class ReviewRead(BaseModel):
    """One person × level in the access review."""

    person_id: str
    name: str
    role: str
    status: str
    level_id: str
    site_id: str
    granted_at: datetime
    granted_by: str
    confirmed_at: datetime | None
    confirmed_by: str | None
    in_role: bool
    restricted: bool
    due: bool


class ReviewConfirm(_Strict):
    """Confirm that a person still needs a level."""

    person_id: str = Field(min_length=1, max_length=26)
    level_id: str = Field(min_length=1, max_length=63)


# --- offboarding ---------------------------------------------------------------------------------


class SecretIn(_Strict):
    """A shared secret to rotate (kind and label; never the secret itself)."""

    kind: Literal["safe_combination", "alarm_code", "shared_account", "door_code", "other"]
    label: str = Field(min_length=1, max_length=120)


class OffboardingCreate(_Strict):
    """Offboard a person in one action."""

    person_id: str = Field(min_length=1, max_length=26)
    reason: str = Field(min_length=1, max_length=200)
    secrets: list[SecretIn] | None = Field(
        default=None, description="Secrets to rotate; default: safes, alarm codes, shared accounts."
    )


class SecretRead(BaseModel):
    """A checklist item."""

    id: int
    kind: str
    label: str
    rotated_at: datetime | None
    rotated_by: str | None
    note: str | None


class OffboardingRead(BaseModel):
    """An offboarding with its checklist."""

    id: str
    person_id: str
    reason: str
    summary: dict[str, int]
    started_at: datetime
    started_by: str
    completed_at: datetime | None
    secrets: list[SecretRead]


class SecretRotated(_Strict):
    """Mark a checklist item done."""

    note: str | None = Field(default=None, max_length=200)


class SourceRead(BaseModel):
    """One source of access and what remains there."""

    name: str
    clear: bool
    remaining: list[str]


class OffboardingReportRead(BaseModel):
    """The proof: every source queried afresh."""

    offboarding_id: str
    person_id: str
    person_status: str
    checked_at: datetime
    access_clear: bool
    complete: bool
    sources: list[SourceRead]
    secrets_outstanding: list[str]


# --- visitors ------------------------------------------------------------------------------------


class DocumentIn(_Strict):
    """An identity document; the number is stored encrypted and never returned."""

    type: Literal["passport", "driver_licence", "state_id", "national_id"]
    number: str = Field(min_length=1, max_length=40)
    expires_on: date


class VisitCreate(_Strict):
    """A pre-registration by a host (or a walk-in with ``document``)."""

    site_id: str = Field(min_length=1, max_length=63)
    name: str = Field(min_length=1, max_length=200)
    company: str | None = Field(default=None, max_length=200)
    purpose: str = Field(min_length=1, max_length=500)
    host_id: str = Field(min_length=1, max_length=26, description="Host's person id.")
    areas: list[str] = Field(min_length=1, max_length=20, description="Zone ids needed.")
    expected_at: datetime | None = Field(default=None, description="Arrival (default: now).")
    until: datetime = Field(description="End of the visit window (aware).")
    document: DocumentIn | None = None
    approve_restricted: bool = Field(
        default=False, description="Approve restricted areas (needs access:manage at the site)."
    )


class WalkIn(VisitCreate):
    """A walk-in: registered and checked in at once; the document is required."""

    document: DocumentIn
    card: str | None = Field(default=None, max_length=160, description="Badge card data.")


class CheckIn(_Strict):
    """Check in an expected visitor."""

    document: DocumentIn | None = None
    card: str | None = Field(default=None, max_length=160, description="Badge card data.")


class CheckOut(_Strict):
    """Check a visitor out."""

    badge_returned: bool = True


class VisitRead(BaseModel):
    """A visit (no document number)."""

    id: str
    site_id: str
    status: str
    name: str
    company: str | None
    purpose: str
    host_id: str
    areas: list[str]
    approved_by: str | None
    walk_in: bool
    expected_at: datetime
    until: datetime
    id_type: str | None
    id_expires_on: date | None
    person_id: str | None
    credential_id: str | None
    badge_number: str | None
    escort_required: bool
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    badge_returned: bool | None
    refused_reason: str | None


class OnSiteRead(BaseModel):
    """A visitor on site now."""

    visit_id: str
    name: str
    host_id: str
    host: str
    zone: str | None
    company: str | None
    checked_in_at: datetime | None
    until: datetime


class WatchlistCreate(_Strict):
    """A watchlist entry; name, number and reason are kept encrypted or hashed."""

    name: str = Field(min_length=1, max_length=200)
    id_number: str | None = Field(default=None, max_length=40)
    reason: str = Field(min_length=1, max_length=500)


class WatchlistRead(BaseModel):
    """A watchlist entry."""

    id: str
    name: str
    reason: str
    has_id_number: bool
    created_at: datetime
    created_by: str

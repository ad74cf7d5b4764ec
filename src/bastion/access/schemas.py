"""API shapes of the access and people routes (no card data or PIN is ever returned)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bastion.access.snapshot import AntiPassbackMode, CredentialKind, DoorMode
from bastion.core.inputs import Whole


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PersonCreate(_Strict):
    """A new cardholder."""

    name: str = Field(min_length=1, max_length=200, description="Display name (stored encrypted).")
    kind: Literal["employee", "contractor", "visitor"] = Field(description="Kind of cardholder.")
    role: str = Field(default="", max_length=64, description="Role label, e.g. budtender.")
    site_id: str | None = Field(default=None, description="Site, or None for every site.")


class PersonStatusUpdate(_Strict):
    """Suspend, reinstate or offboard."""

    status: Literal["active", "suspended", "offboarded"] = Field(description="New status.")
    reason: str = Field(default="", max_length=200, description="Why.")


class PersonRead(BaseModel):
    """A cardholder."""

    id: str = Field(description="Person id.")
    name: str = Field(description="Display name.")
    kind: str = Field(description="employee, contractor or visitor.")
    status: str = Field(description="active, suspended or offboarded.")
    role: str = Field(description="Role label.")
    site_id: str | None = Field(description="Site, or None for every site.")
    background_check: str = Field(description="Background-check status.")


class CredentialCreate(_Strict):
    """A credential to enrol; card data and PIN are hashed at once and never stored."""

    person_id: str = Field(description="Holder.")
    kind: CredentialKind = Field(description="card, pin, card_and_pin or mobile.")
    card: str | None = Field(
        default=None,
        description="Card data: h10301:<fc>:<n>, h10304:<fc>:<n>, raw:<bits>:<hex>, ascii:<text>.",
    )
    pin: str | None = Field(default=None, description="4–12 digit PIN.")
    mobile_token: str | None = Field(default=None, description="Mobile credential token.")
    activates_at: datetime | None = Field(default=None, description="Valid from (aware).")
    expires_at: datetime | None = Field(default=None, description="Valid until (aware).")

    def __repr__(self) -> str:
        return f"CredentialCreate(person_id={self.person_id!r}, kind={self.kind!s})"


class CredentialRevoke(_Strict):
    """Why a credential is revoked."""

    reason: str = Field(default="", max_length=200, description="Why.")


class CredentialRead(BaseModel):
    """A credential, without any secret."""

    id: str = Field(description="Credential id.")
    person_id: str = Field(description="Holder.")
    kind: str = Field(description="card, pin, card_and_pin or mobile.")
    card_format: str | None = Field(description="Card format, when a card.")
    facility_code: int | None = Field(description="Facility code, when the format has one.")
    activates_at: datetime | None = Field(description="Valid from.")
    expires_at: datetime | None = Field(description="Valid until.")
    revoked: bool = Field(description="Whether it was revoked.")


class LevelWrite(_Strict):
    """An access level: doors and/or zones of one site × a schedule."""

    site_id: str = Field(description="Site.")
    name: str = Field(min_length=1, max_length=200, description="Display name.")
    schedule_id: str | None = Field(
        default=None, description="Schedule id of the site; None: always."
    )
    doors: list[str] = Field(default_factory=list, description="Door ids.")
    zones: list[str] = Field(default_factory=list, description="Zone ids (doors into them).")
    max_threat_level: int = Field(
        default=0, ge=0, le=10, description="Honoured up to this threat level."
    )
    requires_training: list[str] = Field(default_factory=list, description="Courses needed.")
    requires_background_check: bool = Field(default=False, description="Needs a cleared check.")


class LevelRead(LevelWrite):
    """A stored access level."""

    model_config = ConfigDict(extra="ignore")
    id: str = Field(description="Level id.")


class Assignment(_Strict):
    """Give or take a level."""

    person_id: str = Field(description="Person.")


class DoorPolicyWrite(_Strict):
    """A door's mode and rules."""

    mode: DoorMode = Field(default=DoorMode.CARD_ONLY, description="Door mode.")
    unlock_schedule_id: str | None = Field(default=None, description="Unlock schedule.")
    two_person: bool = Field(default=False, description="Two-person rule.")
    two_person_window_s: float = Field(
        default=30.0, gt=0, description="Seconds for the second card."
    )
    two_person_distinct_roles: bool = Field(
        default=False, description="Second card from another role."
    )
    escort_required: bool = Field(default=True, description="Visitors need a host badge.")
    escort_window_s: float = Field(default=30.0, gt=0, description="Seconds after the host badge.")
    escort_ratio: int = Field(default=3, ge=1, description="Visitors per host badge.")
    first_person_in: bool = Field(
        default=False, description="Unlock on schedule after a supervisor."
    )
    supervisor_roles: list[str] = Field(
        default_factory=list, description="Roles that count as supervisor."
    )


class AntiPassbackWrite(_Strict):
    """Anti-passback on entering a zone (mode None removes it)."""

    mode: AntiPassbackMode | None = Field(description="hard, soft, timed or None.")
    timeout_s: float = Field(default=0.0, ge=0, description="Timed mode: seconds.")


class InterlockWrite(_Strict):
    """An interlock (mantrap) group."""

    doors: list[str] | None = Field(description="Door ids (None removes the group).")


class LockdownRequest(_Strict):
    """Lock down or release a zone (and its adjacent zones)."""

    site_id: str = Field(description="Site.")
    zone_id: str = Field(description="Zone.")
    active: bool = Field(default=True, description="True locks down, False releases.")
    reason: str = Field(default="", max_length=200, description="Why.")


class ThreatRequest(_Strict):
    """Set the site-wide threat level."""

    site_id: str = Field(description="Site.")
    level: Whole = Field(ge=0, le=10, description="0 normal … 10.")
    name: str = Field(default="", max_length=64, description="Display name.")
    reason: str = Field(default="", max_length=200, description="Why.")


class ForgiveRequest(_Strict):
    """Forgive anti-passback."""

    site_id: str = Field(description="Site.")
    person_id: str | None = Field(default=None, description="Person, or None for everyone.")
    reason: str = Field(default="", max_length=200, description="Why.")


class StepRead(BaseModel):
    """One rule of a reason chain."""

    check: str = Field(description="Rule.")
    ok: bool | None = Field(description="Passed, failed, or information.")
    detail: str = Field(description="What was found.")


class ExplanationRead(BaseModel):
    """A decision and its reason chain."""

    granted: bool = Field(description="Would the door release.")
    pending: bool = Field(description="Waiting for a second factor.")
    reason: str = Field(description="Reason code.")
    detail: str = Field(description="Reason text.")
    at: datetime = Field(description="Decision time.")
    snapshot_version: int = Field(description="Snapshot version used.")
    steps: list[StepRead] = Field(description="The rules, in order.")


class HolderRead(BaseModel):
    """Someone who can open a door."""

    person_id: str = Field(description="Person id.")
    name: str = Field(description="Display name.")
    role: str = Field(description="Role label.")
    kind: str = Field(description="employee, contractor or visitor.")
    levels: list[str] = Field(description="Levels that grant the door.")


class EntryRead(BaseModel):
    """A granted entry into a zone."""

    time: datetime = Field(description="When.")
    person_id: str | None = Field(description="Who.")
    name: str = Field(description="Display name.")
    door_id: str = Field(description="Through which door.")
    reader_id: str | None = Field(description="Reader.")
    event_id: str = Field(description="Ledger event id.")


class AccessStatus(BaseModel):
    """The engine at a glance."""

    running: bool = Field(description="Whether the engine runs on this node.")
    snapshot_version: int = Field(description="Snapshot version.")
    people: int = Field(description="Cardholders loaded.")
    credentials: int = Field(description="Credentials loaded.")
    levels: int = Field(description="Levels loaded.")
    threat_levels: dict[str, int] = Field(description="Threat level per site.")
    lockdowns: dict[str, list[str]] = Field(description="Locked-down zones per site.")
    pending_decisions: int = Field(description="Decisions waiting for the ledger.")

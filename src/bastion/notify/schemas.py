"""API and configuration shapes of the notification domain (addresses are write-only)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ChannelKind = Literal["email", "sms", "chat", "webhook", "pa"]
HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChannelIn(_Strict):
    """A channel as configured: kind and Apprise URL (stored encrypted, never shown again)."""

    kind: ChannelKind = Field(title="Kind", description="email, sms, chat, webhook or pa.")
    url: str = Field(
        min_length=4,
        max_length=2000,
        title="Apprise URL",
        description="e.g. mailtos://…?to=…, twilio://…, slack://…, jsons://host/path.",
    )
    rate_limit: int = Field(
        default=10, ge=1, le=1000, title="Rate limit", description="Messages per window."
    )
    rate_window_s: int = Field(
        default=3600, ge=1, le=86400, title="Rate window", description="Window in seconds."
    )

    def __repr__(self) -> str:
        return f"ChannelIn(kind={self.kind!r}, url=<redacted>)"

    __str__ = __repr__


class ChannelRead(BaseModel):
    """A channel as shown: a masked hint, never the address."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    position: int
    hint: str
    rate_limit: int
    rate_window_s: int


class _ContactFields(_Strict):
    role: str = Field(default="", max_length=64, title="Role", description="e.g. supervisor.")
    quiet_start: str | None = Field(
        default=None, pattern=HHMM, title="Quiet from", description="Local HH:MM."
    )
    quiet_end: str | None = Field(
        default=None, pattern=HHMM, title="Quiet until", description="Local HH:MM."
    )
    timezone: str = Field(default="UTC", max_length=64, title="Time zone", description="IANA name.")
    active: bool = Field(default=True, title="Active", description="Inactive contacts are skipped.")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _quiet_pair(self) -> _ContactFields:
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValueError("quiet hours need both quiet_start and quiet_end")
        return self


class ContactCreate(_ContactFields):
    """A new contact with at least one channel, in order of preference."""

    name: str = Field(min_length=1, max_length=120, title="Name", description="Display name.")
    channels: list[ChannelIn] = Field(
        min_length=1, title="Channels", description="Most preferred first."
    )


class ContactUpdate(_Strict):
    """Changes to a contact; ``channels`` replaces the whole list when given."""

    name: str | None = Field(default=None, min_length=1, max_length=120)
    role: str | None = Field(default=None, max_length=64)
    quiet_start: str | None = Field(default=None, pattern=HHMM)
    quiet_end: str | None = Field(default=None, pattern=HHMM)
    clear_quiet_hours: bool = Field(default=False, description="Remove quiet hours.")
    timezone: str | None = Field(default=None, max_length=64)
    active: bool | None = None
    channels: list[ChannelIn] | None = Field(default=None, min_length=1)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r}") from None
        return value


class ContactRead(BaseModel):
    """A contact with masked channels."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    role: str
    quiet_start: str | None
    quiet_end: str | None
    timezone: str
    active: bool
    channels: list[ChannelRead]


class TierIn(_Strict):
    """One tier: contacts notified in parallel, and how long to wait for an acknowledgement."""

    contacts: list[str] = Field(min_length=1, title="Contacts", description="Contact ids or names.")
    ack_timeout_s: int = Field(
        default=300, ge=1, le=86400, title="Ack timeout", description="Seconds before escalating."
    )


class CallTreeCreate(_Strict):
    """A call tree: tiers in order, each escalating to the next when unacknowledged."""

    name: str = Field(min_length=1, max_length=120, title="Name", description="Unique name.")
    description: str = Field(default="", max_length=2000)
    site_id: str | None = Field(default=None, max_length=63)
    tiers: list[TierIn] = Field(min_length=1, title="Tiers", description="First tier first.")


class CallTreeUpdate(_Strict):
    """Changes to a call tree; ``tiers`` replaces every tier when given."""

    name: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=2000)
    site_id: str | None = Field(default=None, max_length=63)
    tiers: list[TierIn] | None = Field(default=None, min_length=1)


class MemberRead(BaseModel):
    """A contact in a tier."""

    contact_id: str
    name: str


class TierRead(BaseModel):
    """A tier as shown."""

    position: int
    ack_timeout_s: int
    members: list[MemberRead]


class CallTreeRead(BaseModel):
    """A call tree as shown."""

    id: str
    name: str
    description: str
    site_id: str | None
    tiers: list[TierRead]


class TemplateCreate(_Strict):
    """A pre-written message for a scenario."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$", title="Id", description="Key.")
    scenario: str = Field(default="generic", max_length=64)
    title: str = Field(min_length=1, max_length=300, description="Jinja2 template.")
    body: str = Field(min_length=1, max_length=10000, description="Jinja2 template.")
    variables: list[str] = Field(
        default_factory=list, description="Extra variables beyond site, zone, time, operator_note."
    )


class TemplateUpdate(_Strict):
    """Changes to a template (checked again as a whole)."""

    scenario: str | None = Field(default=None, max_length=64)
    title: str | None = Field(default=None, min_length=1, max_length=300)
    body: str | None = Field(default=None, min_length=1, max_length=10000)
    variables: list[str] | None = None


class TemplateRead(BaseModel):
    """A template as shown, with the variables it uses."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    scenario: str
    title: str
    body: str
    variables: list[str]


class StartRequest(_Strict):
    """Start a call tree with a template (or a plain message)."""

    tree: str = Field(min_length=1, description="Call tree id or name.")
    template_id: str | None = Field(default=None, description="Template; None needs 'message'.")
    variables: dict[str, str] = Field(default_factory=dict, description="Template variables.")
    message: str | None = Field(default=None, max_length=5000, description="Plain message.")
    drill: bool = Field(default=False, description="Run the whole flow but send nothing.")
    emergency: bool = Field(default=False, description="Override quiet hours and rate limits.")


class AckRequest(_Strict):
    """A console acknowledgement on behalf of a recipient."""

    note: str = Field(default="", max_length=500)


class DeliveryRead(BaseModel):
    """One channel attempt."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    channel_id: int | None
    channel_kind: str | None
    outcome: str
    detail: str
    attempted_at: datetime
    completed_at: datetime | None


class RecipientRead(BaseModel):
    """One contact in a run: status and who has acknowledged."""

    id: int
    contact_id: str
    contact_name: str
    tier: int
    status: str
    notified_at: datetime | None
    acknowledged_at: datetime | None
    ack_method: str | None
    deliveries: list[DeliveryRead]


class CallTreeRun(BaseModel):
    """A call-tree run: where it stands, who was reached and who has acknowledged."""

    id: str
    tree_id: str
    tree_name: str
    template_id: str | None
    title: str
    status: str
    drill: bool
    emergency: bool
    current_tier: int
    tier_count: int
    tier_deadline: datetime | None
    started_at: datetime
    acknowledged_at: datetime | None
    finished_at: datetime | None
    recipients: list[RecipientRead]

    @property
    def acknowledged_by(self) -> list[str]:
        """Return the names of the recipients who acknowledged."""
        return [r.contact_name for r in self.recipients if r.acknowledged_at is not None]

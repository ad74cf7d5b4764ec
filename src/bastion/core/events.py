"""The typed event catalogue: ``EventType[P]`` keys with frozen payload models.

Every event that crosses a package boundary is an :class:`Event` whose payload is
a frozen pydantic model registered here. Security events are appended to the
hash-chained ledger before anyone reacts; telemetry is not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from bastion.core.context import Context, new_id
from bastion.core.errors import InvalidInput


class Payload(BaseModel):
    """Base of every event payload: frozen, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


P = TypeVar("P", bound=Payload)


class EventClass(StrEnum):
    """Whether an event goes to the ledger (security) or the telemetry stream."""

    SECURITY = "security"
    TELEMETRY = "telemetry"


@dataclass(frozen=True, slots=True)
class EventType(Generic[P]):
    """A key in the catalogue: a dotted name bound to one payload model."""

    name: str
    payload: type[P]
    description: str
    event_class: EventClass = EventClass.SECURITY

    @property
    def is_security(self) -> bool:
        """Return True when the event must be committed to the ledger."""
        return self.event_class is EventClass.SECURITY


def _field(payload: Any, name: str) -> Any:
    """Return a payload field, or None when the payload has no such field.

    Checked against the model's declared fields: a missing attribute on a pydantic
    model raises inside ``__getattr__``, which costs more than the rest of a ledger row.
    """
    kind = type(payload)
    fields = _FIELD_NAMES.get(kind)
    if fields is None:
        fields = _FIELD_NAMES[kind] = frozenset(kind.model_fields)
    return getattr(payload, name) if name in fields else None


_FIELD_NAMES: dict[type, frozenset[str]] = {}


@dataclass(frozen=True, slots=True)
class Event(Generic[P]):
    """One occurrence: type, payload, causality context, time and site."""

    type: EventType[P]
    payload: P
    context: Context
    time: datetime
    site: str | None = None
    id: str = field(default_factory=new_id)

    @property
    def subject(self) -> str | None:
        """Return the person or credential the event is about, if any."""
        value = _field(self.payload, "subject")
        return str(value) if value is not None else None

    @property
    def device(self) -> str | None:
        """Return the device or door the event came from, if any."""
        for name in ("device_id", "door_id", "reader_id"):
            value = _field(self.payload, name)
            if value is not None:
                return str(value)
        return None

    def payload_json(self) -> str:
        """Return the canonical JSON of the payload (sorted keys, no spaces)."""
        return canonical_json(self.payload.model_dump(mode="json"))


def canonical_json(value: Any) -> str:
    """Serialise ``value`` deterministically for hashing and storage."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


CATALOGUE: dict[str, EventType[Any]] = {}


def register(event_type: EventType[P]) -> EventType[P]:
    """Add ``event_type`` to the catalogue; a name may be registered once."""
    existing = CATALOGUE.get(event_type.name)
    if existing is not None and existing is not event_type:
        raise ValueError(f"event type {event_type.name!r} is already registered")
    CATALOGUE[event_type.name] = event_type
    return event_type


def lookup(name: str) -> EventType[Any]:
    """Return the registered event type called ``name``."""
    try:
        return CATALOGUE[name]
    except KeyError:
        raise InvalidInput(f"unknown event type {name!r}") from None


def make_event(
    event_type: EventType[P],
    payload: P,
    *,
    context: Context | None = None,
    time: datetime | None = None,
    site: str | None = None,
) -> Event[P]:
    """Build an event, checking that the payload matches its type."""
    if not isinstance(payload, event_type.payload):
        raise InvalidInput(
            f"{event_type.name} expects {event_type.payload.__name__}, got {type(payload).__name__}"
        )
    when = time or datetime.now(UTC)
    if when.tzinfo is None:
        raise InvalidInput("event time must be timezone-aware")
    return Event(
        type=event_type,
        payload=payload,
        context=context or Context(),
        time=when.astimezone(UTC),
        site=site,
    )


# --- payloads -------------------------------------------------------------------------------

DoorState = Literal["locked", "unlocked", "open", "closed", "forced", "held", "offline"]


class AccessDecisionPayload(Payload):
    """An access decision at a door: who presented what, and why it was (not) granted."""

    door_id: str = Field(description="Door the credential was presented at.")
    reader_id: str | None = Field(default=None, description="Reader that read it.")
    subject: str | None = Field(default=None, description="Person id, when known.")
    credential_ref: str | None = Field(
        default=None, description="Opaque credential reference (never the card number)."
    )
    granted: bool = Field(description="Whether the door was released.")
    reason: str = Field(description="Reason code, e.g. granted, revoked, outside_schedule.")
    detail: str = Field(default="", description="Human-readable explanation.")


class DoorPayload(Payload):
    """A change of state at a door."""

    door_id: str = Field(description="Door concerned.")
    state: DoorState = Field(description="New state of the door.")
    zone_id: str | None = Field(default=None, description="Zone the door leads into.")
    duration_s: float | None = Field(default=None, description="Seconds held or open.")


class DoorCommandPayload(Payload):
    """A command sent to a door (lock, unlock, momentary unlock, lockdown)."""

    door_id: str = Field(description="Door commanded.")
    command: Literal["lock", "unlock", "momentary_unlock", "lockdown", "release"] = Field(
        description="What the door was told to do."
    )
    reason: str = Field(default="", description="Why, in the operator's or rule's words.")


class AlarmPayload(Payload):
    """An alarm raised for operators to work."""

    alarm_type: str = Field(description="Type code, e.g. door_forced, tamper, lockout.")
    priority: int = Field(ge=1, le=5, description="1 is most urgent.")
    message: str = Field(description="One-line summary for the queue.")
    zone_id: str | None = Field(default=None, description="Zone where it happened.")
    door_id: str | None = Field(default=None, description="Door concerned, if any.")
    device_id: str | None = Field(default=None, description="Device concerned, if any.")
    source_event_id: str | None = Field(default=None, description="Event that caused it.")


class DeviceHealthPayload(Payload):
    """A device went online, offline, into trouble or tamper."""

    device_id: str = Field(description="Device concerned.")
    status: Literal["online", "offline", "trouble", "tamper", "restored"] = Field(
        description="New health status."
    )
    detail: str = Field(default="", description="What was observed.")


DeviceKind = Literal["reader", "sensor", "camera", "lock", "service"]
"""What sort of device a status report is about; health settings are chosen per kind."""


class DeviceStatusPayload(Payload):
    """Whether a device answers its integration right now (raw link state, not yet debounced)."""

    device_id: str = Field(max_length=128, description="Device concerned.")
    kind: DeviceKind = Field(description="Kind of device, which selects its health settings.")
    online: bool = Field(description="Whether the device answers.")
    detail: str = Field(default="", max_length=200, description="What was observed.")
    degraded: bool = Field(
        default=False, description="Answers, but not well enough (e.g. a camera without frames)."
    )


class SensorReadingPayload(Payload):
    """A telemetry reading from a sensor."""

    device_id: str = Field(description="Sensor that produced the reading.")
    quantity: str = Field(description="What was measured, e.g. pm2_5, sound_db.")
    value: float = Field(description="Measured value.")
    unit: str = Field(default="", description="Unit of the value.")


class AuthPayload(Payload):
    """A sign-in, sign-out, failure or lock-out of an operator account."""

    subject: str | None = Field(default=None, description="Operator account id, when known.")
    username: str = Field(description="User name as typed (never the password).")
    method: Literal["password", "totp", "token", "session"] = Field(
        description="Which factor or credential was used."
    )
    outcome: str = Field(description="succeeded, failed, locked, logged_out …")
    source: str = Field(default="", description="Client address.")


class AdminActionPayload(Payload):
    """A privileged change: accounts, roles, tokens, configuration."""

    action: str = Field(description="Verb, e.g. user.create, role.grant, token.revoke.")
    target: str = Field(description="What was changed, e.g. user:<id>.")
    detail: dict[str, str] = Field(
        default_factory=dict, description="Non-secret facts about the change."
    )


class SiteImportedPayload(Payload):
    """A site model was imported or changed."""

    site_id: str = Field(description="Site identifier.")
    revision: int = Field(description="Stored revision number.")
    sha256: str = Field(description="SHA-256 of the canonical model.")


# --- catalogue ------------------------------------------------------------------------------

EVENT_ACCESS_DECISION = register(
    EventType("access.decision", AccessDecisionPayload, "A credential was granted or denied.")
)
EVENT_DOOR_STATE = register(
    EventType("door.state", DoorPayload, "A door changed state (open, closed, locked …).")
)
EVENT_DOOR_FORCED = register(
    EventType("door.forced", DoorPayload, "A door opened without a grant or request-to-exit.")
)
EVENT_DOOR_HELD = register(
    EventType("door.held", DoorPayload, "A door stayed open beyond its held-open limit.")
)
EVENT_DOOR_COMMAND = register(
    EventType("door.command", DoorCommandPayload, "A door was commanded by a person or rule.")
)
EVENT_ALARM_RAISED = register(
    EventType("alarm.raised", AlarmPayload, "An alarm was raised for operators.")
)
EVENT_DEVICE_HEALTH = register(
    EventType("device.health", DeviceHealthPayload, "A device changed health status.")
)
EVENT_DEVICE_STATUS = register(
    EventType(
        "device.status",
        DeviceStatusPayload,
        "A device's link went up or down (health decisions follow as device.health).",
        EventClass.TELEMETRY,
    )
)
EVENT_SENSOR_READING = register(
    EventType(
        "sensor.reading",
        SensorReadingPayload,
        "A telemetry reading from a sensor.",
        EventClass.TELEMETRY,
    )
)
EVENT_AUTH = register(
    EventType("auth.session", AuthPayload, "An operator sign-in, failure, sign-out or lock-out.")
)
EVENT_ADMIN_ACTION = register(
    EventType("admin.action", AdminActionPayload, "A privileged administrative change.")
)
EVENT_SITE_IMPORTED = register(
    EventType("site.imported", SiteImportedPayload, "A site model was imported or changed.")
)


class LedgerKeyPayload(Payload):
    """A ledger checkpoint signing key was created or replaced (public half only)."""

    ledger_id: str = Field(description="Identity of the ledger the key signs checkpoints for.")
    key_id: str = Field(description="Short id of the new key (SHA-256 of its public key).")
    public_key: str = Field(description="Ed25519 public key, base64.")
    created: str = Field(description="When the key was made (UTC, ISO 8601).")
    previous_key_id: str | None = Field(default=None, description="Key it replaces, if any.")
    endorsement: str | None = Field(
        default=None, description="The replaced key's signature over this key, base64."
    )
    proof: str = Field(description="The new key's own signature over this record, base64.")
    action: Literal["created", "rotated"] = Field(description="First key, or a rotation.")


EVENT_LEDGER_KEY = register(
    EventType(
        "ledger.key", LedgerKeyPayload, "A ledger checkpoint signing key was created or rotated."
    )
)


class LockdownPayload(Payload):
    """A lockdown of zones started or ended; lockdown wins over everything except egress."""

    zone_ids: tuple[str, ...] = Field(description="Zones locked down (with their adjacent zones).")
    active: bool = Field(description="True when the lockdown starts, False when it is lifted.")
    reason: str = Field(default="", description="Why, in the operator's or rule's words.")


class ThreatLevelPayload(Payload):
    """The site-wide threat level changed."""

    level: int = Field(ge=0, le=10, description="0 is normal; higher restricts access levels.")
    name: str = Field(default="", description="Display name, e.g. elevated, severe.")
    reason: str = Field(default="", description="Why it changed.")


EVENT_LOCKDOWN = register(
    EventType("site.lockdown", LockdownPayload, "Zones were locked down or released.")
)
EVENT_THREAT_LEVEL = register(
    EventType("site.threat_level", ThreatLevelPayload, "The site-wide threat level changed.")
)


# --- alarms, automation, arming, sensors and video (monitoring and integrated response) -------


class AlarmStatePayload(Payload):
    """An alarm moved through its lifecycle (acknowledged, investigating, resolved …)."""

    alarm_id: str = Field(description="Alarm concerned.")
    state: Literal["acknowledged", "investigating", "resolved", "false_alarm"] = Field(
        description="New state of the alarm."
    )
    operator: str = Field(description="Operator reference, e.g. user:<id>.")
    reason: str = Field(default="", description="Why (required for a false alarm).")
    incident_id: str | None = Field(default=None, description="Incident the alarm belongs to.")


class SopStepPayload(Payload):
    """An operator completed or skipped one step of an alarm's procedure."""

    alarm_id: str = Field(description="Alarm whose procedure it is.")
    sop_id: str = Field(description="Procedure id.")
    step_id: str = Field(description="Step id inside the procedure.")
    outcome: Literal["done", "skipped"] = Field(description="Completed or skipped.")
    answer: str = Field(default="", description="Answer given (e.g. yes, no, free text).")
    reason: str = Field(default="", description="Why the step was skipped.")
    operator: str = Field(description="Operator reference, e.g. user:<id>.")


class NotifyPayload(Payload):
    """A notification or call tree was requested; the notification domain delivers it."""

    call_tree: str | None = Field(default=None, description="Call tree to start, if any.")
    roles: tuple[str, ...] = Field(default=(), description="Roles to notify, e.g. supervisor.")
    message: str = Field(description="What to tell them.")
    priority: int = Field(default=3, ge=1, le=5, description="1 is most urgent.")
    alarm_id: str | None = Field(default=None, description="Alarm concerned, if any.")
    incident_id: str | None = Field(default=None, description="Incident concerned, if any.")
    zone_id: str | None = Field(default=None, description="Zone concerned, if any.")


class IncidentPayload(Payload):
    """An incident was opened, grew, was escalated, was requested by a rule, or was closed."""

    incident_id: str | None = Field(
        default=None, description="Incident id (None on a request not yet handled)."
    )
    action: Literal["requested", "opened", "updated", "closed", "escalated"] = Field(
        description="What happened to the incident."
    )
    title: str = Field(default="", description="One-line summary.")
    priority: int = Field(default=3, ge=1, le=5, description="1 is most urgent.")
    zone_ids: tuple[str, ...] = Field(default=(), description="Zones involved.")
    alarm_id: str | None = Field(default=None, description="Alarm that was attached, if any.")
    source_event_id: str | None = Field(default=None, description="Event that caused it.")


class ArmingPayload(Payload):
    """A zone was armed or disarmed (by schedule, rule or operator)."""

    zone_id: str = Field(description="Zone concerned.")
    state: Literal["armed", "disarmed"] = Field(description="New arming state.")
    exit_delay_s: float = Field(default=0.0, ge=0, description="Seconds before arming holds.")
    entry_delay_s: float = Field(default=0.0, ge=0, description="Grace after an entry trigger.")
    reason: str = Field(default="", description="Why, in the operator's or rule's words.")


class SensorBypassPayload(Payload):
    """A faulty sensor was bypassed (with a reason and an expiry) or restored."""

    device_id: str = Field(description="Sensor bypassed.")
    active: bool = Field(description="True while bypassed; False when restored.")
    reason: str = Field(default="", description="Why it was bypassed.")
    until: datetime | None = Field(default=None, description="When the bypass expires (UTC).")


class SensorStatePayload(Payload):
    """An intrusion or life-safety sensor changed state (motion, contact, glass-break, panic)."""

    device_id: str = Field(description="Sensor concerned.")
    sensor_type: str = Field(description="motion, contact, glass_break, panic …")
    state: Literal["active", "inactive"] = Field(description="Triggered or quiet.")
    zone_id: str | None = Field(default=None, description="Zone the sensor watches.")


class CameraPtzPayload(Payload):
    """A camera was told to go to a PTZ preset."""

    camera_id: str = Field(description="Camera commanded.")
    preset: str = Field(description="Preset name, as configured on the camera.")
    reason: str = Field(default="", description="Why.")


class CameraBookmarkPayload(Payload):
    """Recordings of some cameras were bookmarked around a moment."""

    camera_ids: tuple[str, ...] = Field(description="Cameras bookmarked.")
    label: str = Field(description="What the bookmark marks.")
    at: datetime = Field(description="Moment bookmarked (UTC).")
    zone_id: str | None = Field(default=None, description="Zone concerned, if any.")


class VideoDetectionPayload(Payload):
    """A video-analytics detection tied to our cameras and zones (loitering, parked vehicle …)."""

    camera_id: str = Field(description="Camera that saw it.")
    kind: Literal["loitering", "stationary_vehicle", "zone_entry", "object"] = Field(
        description="What was detected."
    )
    label: str = Field(description="Object label, e.g. person, car.")
    zone_id: str | None = Field(default=None, description="Our zone, when mapped.")
    source_zones: tuple[str, ...] = Field(default=(), description="Analytics zone names.")
    source_id: str = Field(description="The analytics system's object or review id.")
    score: float | None = Field(default=None, description="Detection confidence 0–1.")


EVENT_ALARM_STATE = register(
    EventType("alarm.state", AlarmStatePayload, "An alarm was acknowledged, worked or closed.")
)
EVENT_SOP_STEP = register(
    EventType("alarm.sop_step", SopStepPayload, "A procedure step was completed or skipped.")
)
EVENT_NOTIFY = register(
    EventType("notify.requested", NotifyPayload, "A notification or call tree was requested.")
)
EVENT_INCIDENT = register(
    EventType("incident.changed", IncidentPayload, "An incident was requested, opened or closed.")
)
EVENT_ZONE_ARMING = register(
    EventType("zone.arming", ArmingPayload, "A zone was armed or disarmed.")
)
EVENT_SENSOR_BYPASS = register(
    EventType("sensor.bypass", SensorBypassPayload, "A sensor was bypassed or restored.")
)
EVENT_SENSOR_STATE = register(
    EventType("sensor.state", SensorStatePayload, "An intrusion or panic sensor changed state.")
)
EVENT_CAMERA_PTZ = register(
    EventType("camera.ptz", CameraPtzPayload, "A camera was sent to a PTZ preset.")
)
EVENT_CAMERA_BOOKMARK = register(
    EventType("camera.bookmark", CameraBookmarkPayload, "Camera recordings were bookmarked.")
)
EVENT_VIDEO_DETECTION = register(
    EventType("video.detection", VideoDetectionPayload, "Video analytics detected something.")
)


# --- OSDP readers ---------------------------------------------------------------------------


class ReaderStatusPayload(Payload):
    """A reader's link changed: online, secure channel, key state."""

    reader_id: str = Field(description="Reader concerned.")
    door_id: str | None = Field(default=None, description="Door the reader serves.")
    online: bool = Field(description="Whether the reader answers the control panel.")
    secure: bool = Field(description="Whether the secure channel is active.")
    key: Literal["none", "default", "pending", "keyed"] = Field(
        description="Key state: none, default (install mode), pending (being set) or keyed."
    )
    detail: str = Field(default="", description="What changed (never a key).")


class ReaderCardPayload(Payload):
    """A card was read at a reader; carries only the keyed hash of the card data."""

    reader_id: str = Field(description="Reader that read it.")
    door_id: str | None = Field(default=None, description="Door the reader serves.")
    credential_ref: str = Field(description="Keyed hash of the card data.")
    bits: int = Field(ge=0, description="Number of card data bits.")
    granted: bool | None = Field(default=None, description="Decision, when one was made.")


EVENT_READER_STATUS = register(
    EventType("reader.status", ReaderStatusPayload, "A reader's link or secure channel changed.")
)
EVENT_READER_CARD = register(
    EventType(
        "reader.card_read",
        ReaderCardPayload,
        "A card was read at a reader (hash only).",
        EventClass.TELEMETRY,
    )
)
EVENT_DOOR_REX = register(
    EventType("door.request_to_exit", DoorPayload, "A request-to-exit was pressed at a door.")
)


# --- access control and people (cardholders, credentials, levels, policies) -----------------


class PersonChangedPayload(Payload):
    """A cardholder was created, changed, suspended, reinstated or offboarded."""

    subject: str = Field(description="Person id (never a name).")
    action: Literal["created", "updated", "suspended", "reinstated", "offboarded"] = Field(
        description="What happened to the person."
    )
    kind: str = Field(default="", description="employee, contractor or visitor.")
    reason: str = Field(default="", description="Why, in the operator's words.")


class CredentialChangedPayload(Payload):
    """A credential was issued, changed or revoked; carries no card data or PIN."""

    subject: str = Field(description="Person id the credential belongs to.")
    credential_id: str = Field(description="Credential id.")
    action: Literal["issued", "updated", "revoked"] = Field(description="What happened.")
    kind: str = Field(description="card, pin, card_and_pin or mobile.")
    reason: str = Field(default="", description="Why, in the operator's words.")


class AccessLevelChangedPayload(Payload):
    """An access level was created, changed, deleted, assigned or unassigned."""

    level_id: str = Field(description="Access level id.")
    site_id: str = Field(description="Site the level belongs to.")
    action: Literal["created", "updated", "deleted", "assigned", "unassigned"] = Field(
        description="What happened to the level."
    )
    subject: str | None = Field(default=None, description="Person id for (un)assignments.")
    detail: dict[str, str] = Field(default_factory=dict, description="Non-secret facts.")


class AccessPolicyChangedPayload(Payload):
    """A door policy, anti-passback area or interlock group was set or removed."""

    site_id: str = Field(description="Site concerned.")
    target: str = Field(description="What changed, e.g. door:vault-door, apb:vault.")
    action: Literal["set", "removed"] = Field(description="Set or removed.")
    detail: dict[str, str] = Field(default_factory=dict, description="Non-secret facts.")


class AntiPassbackForgivenPayload(Payload):
    """An operator forgave anti-passback for one person (or everyone at a site)."""

    site_id: str = Field(description="Site concerned.")
    subject: str | None = Field(default=None, description="Person id; None forgives everyone.")
    reason: str = Field(default="", description="Why, in the operator's words.")


EVENT_PERSON_CHANGED = register(
    EventType("people.changed", PersonChangedPayload, "A cardholder was created or changed.")
)
EVENT_CREDENTIAL_CHANGED = register(
    EventType("access.credential", CredentialChangedPayload, "A credential was issued or revoked.")
)
EVENT_ACCESS_LEVEL_CHANGED = register(
    EventType("access.level", AccessLevelChangedPayload, "An access level or assignment changed.")
)
EVENT_ACCESS_POLICY_CHANGED = register(
    EventType(
        "access.policy", AccessPolicyChangedPayload, "A door, anti-passback or interlock policy."
    )
)
EVENT_ANTI_PASSBACK_FORGIVEN = register(
    EventType(
        "access.apb_forgiven",
        AntiPassbackForgivenPayload,
        "Anti-passback was forgiven by an operator.",
    )
)


# --- notification: call trees, deliveries, acknowledgements, escalation ---------------------


class NotifyRunPayload(Payload):
    """A call-tree run started, moved to a tier, was acknowledged, ran out of tiers or stopped."""

    run_id: str = Field(description="Call-tree run concerned.")
    tree_id: str = Field(description="Call tree being run.")
    template_id: str | None = Field(default=None, description="Template used, if any.")
    action: Literal["started", "tier_started", "acknowledged", "exhausted", "cancelled"] = Field(
        description="What happened to the run."
    )
    tier: int = Field(ge=0, description="Tier concerned (0 is the first).")
    drill: bool = Field(default=False, description="True in drill mode: nothing real is sent.")
    emergency: bool = Field(default=False, description="True when quiet hours are overridden.")
    detail: str = Field(default="", description="Non-personal explanation.")


class NotifyDeliveryPayload(Payload):
    """One message to one recipient over one channel: handed over, delivered, failed or skipped.

    Carries the contact and channel ids and the channel kind, never the address.
    """

    run_id: str = Field(description="Call-tree run concerned.")
    recipient_id: int = Field(description="Recipient row of the run.")
    contact_id: str = Field(description="Contact notified (an id, never an address).")
    channel_id: int | None = Field(default=None, description="Channel used, if any.")
    channel_kind: str | None = Field(default=None, description="email, sms, chat, webhook, pa.")
    tier: int = Field(ge=0, description="Tier of the recipient.")
    outcome: Literal[
        "sending", "delivered", "failed", "drill", "quiet_hours", "rate_limited", "unreachable"
    ] = Field(description="What happened to this attempt.")
    detail: str = Field(default="", description="Failure reason with personal data removed.")
    drill: bool = Field(default=False, description="True in drill mode: nothing real is sent.")


class NotifyAckPayload(Payload):
    """A recipient acknowledged a call-tree message (signed link, console button or reply)."""

    run_id: str = Field(description="Call-tree run concerned.")
    recipient_id: int = Field(description="Recipient row of the run.")
    contact_id: str = Field(description="Contact who acknowledged (an id).")
    tier: int = Field(ge=0, description="Tier of the recipient.")
    method: Literal["link", "console", "reply"] = Field(description="How it was acknowledged.")
    drill: bool = Field(default=False, description="True in drill mode.")


class NotifyEscalationPayload(Payload):
    """A tier went unacknowledged (or unreachable) and the run moved to the next tier."""

    run_id: str = Field(description="Call-tree run concerned.")
    from_tier: int = Field(ge=0, description="Tier that was not acknowledged.")
    to_tier: int | None = Field(default=None, description="Next tier; None when none is left.")
    reason: Literal["timeout", "unreachable"] = Field(description="Why the run escalated.")
    drill: bool = Field(default=False, description="True in drill mode.")


EVENT_NOTIFY_RUN = register(
    EventType("notify.run", NotifyRunPayload, "A call-tree run started, progressed or ended.")
)
EVENT_NOTIFY_SENT = register(
    EventType(
        "notify.sent", NotifyDeliveryPayload, "A message was handed to a channel (or simulated)."
    )
)
EVENT_NOTIFY_DELIVERY = register(
    EventType(
        "notify.delivery", NotifyDeliveryPayload, "The result of one message over one channel."
    )
)
EVENT_NOTIFY_ACK = register(
    EventType("notify.acknowledged", NotifyAckPayload, "A recipient acknowledged a call tree.")
)
EVENT_NOTIFY_ESCALATED = register(
    EventType("notify.escalated", NotifyEscalationPayload, "A call tree escalated to a tier.")
)


# --- personal security: lone-worker timers, safety reports, doxing cases -------------------


class LoneWorkerPayload(Payload):
    """A lone-worker timer started, was checked in, extended, finished or missed.

    Carries ids and times only: never the task description, the location or a PIN.
    """

    timer_id: str = Field(description="Lone-worker timer concerned.")
    subject: str = Field(description="Worker reference, e.g. user:<id>.")
    action: Literal["started", "checked_in", "extended", "finished", "missed"] = Field(
        description="What happened to the timer."
    )
    due_at: datetime | None = Field(default=None, description="Next check-in due (UTC).")


class SafetyReportPayload(Payload):
    """A personal-security report was filed, or a step of its workflow was recorded.

    Carries ids, the report kind and checklist codes only, never the free text; an
    anonymous report carries no reporter.
    """

    report_id: str = Field(description="Report concerned.")
    kind: Literal["suspicious_activity", "suspicious_item", "threat_call", "doxing"] = Field(
        description="What was reported."
    )
    action: Literal["filed", "step_recorded"] = Field(description="What happened.")
    anonymous: bool = Field(default=False, description="True when filed without a name.")
    subject: str | None = Field(default=None, description="Reporter, unless anonymous.")
    step: str = Field(default="", description="Workflow step recorded (doxing), if any.")


EVENT_LONE_WORKER = register(
    EventType("safety.lone_worker", LoneWorkerPayload, "A lone-worker timer changed.")
)
EVENT_SAFETY_REPORT = register(
    EventType("safety.report", SafetyReportPayload, "A personal-security report was filed.")
)


# --- emergency playbooks, drills and mustering ---


class PlaybookRunPayload(Payload):
    """A playbook run started, a step of it was completed, skipped or failed, or it ended.

    Carries ids, outcomes and timings only: never form answers or operator notes.
    """

    run_id: str = Field(description="Playbook run concerned.")
    playbook_id: str = Field(description="Playbook being run, e.g. armed_robbery.")
    action: Literal["started", "step", "finished", "cancelled", "skipped"] = Field(
        description="What happened to the run (skipped: a trigger found a run in progress)."
    )
    drill: bool = Field(default=False, description="True in exercise mode: nothing real moves.")
    step_id: str | None = Field(default=None, description="Step concerned, for action 'step'.")
    outcome: str = Field(default="", description="done, skipped, failed, simulated …")
    elapsed_s: float | None = Field(default=None, description="Seconds since the run started.")
    zone_id: str | None = Field(default=None, description="Zone the emergency is in, if known.")
    trigger_event_id: str | None = Field(default=None, description="Event that started it.")


class MusterPayload(Payload):
    """A person was accounted for (or reported missing) during a muster roll call."""

    run_id: str = Field(description="Playbook run whose muster it is.")
    subject: str = Field(description="Person reference, e.g. person:<id> or visitor:<id>.")
    status: Literal["safe", "missing", "unaccounted"] = Field(description="Roll-call mark.")
    zone_id: str | None = Field(default=None, description="Last zone the person was seen in.")
    drill: bool = Field(default=False, description="True during a drill.")


EVENT_PLAYBOOK_RUN = register(
    EventType("playbook.run", PlaybookRunPayload, "An emergency playbook run or drill progressed.")
)
EVENT_MUSTER = register(
    EventType("muster.roll_call", MusterPayload, "A person was marked at a muster roll call.")
)


# --- employees and visitors ---


class EmployeeChangedPayload(Payload):
    """An employee record changed: hiring gate, training, links, role levels, access review.

    Carries ids and codes only: never a name or a background-check reference.
    """

    subject: str = Field(description="Person id (or role name for role_levels).")
    action: Literal[
        "background_check",
        "training_added",
        "training_warned",
        "linked",
        "role_levels",
        "level_granted",
        "access_confirmed",
    ] = Field(description="What changed.")
    detail: dict[str, str] = Field(default_factory=dict, description="Non-personal facts.")


class OffboardingPayload(Payload):
    """An offboarding started, a shared secret was rotated, or the checklist completed."""

    offboarding_id: str = Field(description="Offboarding concerned.")
    subject: str = Field(description="Person id of the leaver.")
    action: Literal["started", "secret_rotated", "completed"] = Field(description="What happened.")
    detail: dict[str, str] = Field(default_factory=dict, description="Counts and item kinds.")


class VisitPayload(Payload):
    """A visit was registered, checked in or out, refused, overstayed, exported or purged.

    Carries ids, areas and times only: never the visitor's name or document number.
    """

    visit_id: str = Field(description="Visit concerned ('*' for exports and purges).")
    subject: str | None = Field(default=None, description="Visitor's cardholder id, if any.")
    action: Literal[
        "pre_registered",
        "checked_in",
        "checked_out",
        "cancelled",
        "refused",
        "overstay",
        "exported",
        "purged",
    ] = Field(description="What happened.")
    host_id: str | None = Field(default=None, description="Host's person id.")
    detail: dict[str, str] = Field(default_factory=dict, description="Non-personal facts.")


class WatchlistPayload(Payload):
    """A visitor watchlist entry was added or removed (no name: the entry id only)."""

    entry_id: str = Field(description="Watchlist entry.")
    action: Literal["added", "removed"] = Field(description="What happened.")


class PeopleNoticePayload(Payload):
    """A people notice (training expiry, visitor arrival) was sent to a contact, or not."""

    subject: str = Field(description="Person id the notice is about.")
    notice: Literal["training_expiry", "visitor_arrived", "visitor_expected"] = Field(
        description="Which notice."
    )
    recipient: str = Field(description="Person id of the recipient.")
    contact_id: str | None = Field(default=None, description="Contact used (never an address).")
    channel_kind: str | None = Field(default=None, description="email, sms, chat …")
    outcome: Literal["delivered", "failed", "no_contact"] = Field(description="What happened.")
    detail: str = Field(default="", description="Failure reason, redacted.")


EVENT_EMPLOYEE_CHANGED = register(
    EventType("people.employee", EmployeeChangedPayload, "An employee record changed.")
)
EVENT_OFFBOARDING = register(
    EventType("people.offboarding", OffboardingPayload, "An offboarding step was recorded.")
)
EVENT_VISIT = register(EventType("people.visit", VisitPayload, "A visit changed."))
EVENT_WATCHLIST = register(
    EventType("people.watchlist", WatchlistPayload, "A visitor watchlist entry changed.")
)
EVENT_PEOPLE_NOTICE = register(
    EventType("people.notice", PeopleNoticePayload, "A people notice was sent to a contact.")
)


# --- layered-defence analysis ---


# --- cash controls: tills, safes, counts, pickups, POS exceptions ---


class CashMovementPayload(Payload):
    """Cash moved between containers (or in from customers, out to the bank); amounts in cents.

    The only way a container's balance changes. Carries ids, kinds and amounts, never a
    customer's details or a carrier's code.
    """

    movement_id: str = Field(description="Movement concerned.")
    kind: Literal[
        "funding",
        "till_open",
        "sale_cash_in",
        "refund",
        "payout",
        "safe_drop",
        "till_close",
        "over_short",
        "vault_transfer",
        "deposit_prepared",
        "pickup",
        "bank_confirmation",
    ] = Field(description="What kind of movement it is.")
    device_id: str = Field(description="Container the cash left (or, for cash in, entered).")
    counterpart_id: str | None = Field(
        default=None, description="The other container; None for customers, carriers, the bank."
    )
    amount_cents: int = Field(description="Amount moved, in cents (never negative).")
    subject: str | None = Field(default=None, description="Cashier's person id, when known.")
    reference: dict[str, str] = Field(
        default_factory=dict,
        description="Non-secret references: POS batch and digest, bag and seal numbers, count id.",
    )


class CashCountPayload(Payload):
    """A blind count was started, submitted by one counter, mismatched, or completed.

    Submissions carry no amount (a second counter must not learn the first count); the
    completion carries the agreed count, the book and the variance.
    """

    count_id: str = Field(description="Count concerned.")
    device_id: str = Field(description="Container counted.")
    kind: Literal["opening", "closing", "spot", "deposit"] = Field(description="Which count.")
    action: Literal["started", "submitted", "mismatch", "completed", "cancelled"] = Field(
        description="What happened."
    )
    counter: str | None = Field(default=None, description="Counter reference, e.g. user:<id>.")
    counted_cents: int | None = Field(default=None, description="Agreed amount (completion).")
    book_cents: int | None = Field(default=None, description="Book balance (completion).")
    variance_cents: int | None = Field(default=None, description="Counted minus book.")
    flags: tuple[str, ...] = Field(default=(), description="Problems found, e.g. not_badged.")


class CashReviewPayload(Payload):
    """A POS exception or a count variance was raised, escalated or closed with an outcome."""

    review_id: str = Field(description="Exception or variance review concerned.")
    kind: Literal["pos_exception", "variance"] = Field(description="What is reviewed.")
    action: Literal["raised", "escalated", "closed"] = Field(description="What happened.")
    rule: str = Field(default="", description="Rule or escalation level, e.g. no_sale, manager.")
    outcome: str = Field(default="", description="explained, theft or training when closed.")
    subject: str | None = Field(default=None, description="Cashier's person id, when known.")


class CashDropRequestPayload(Payload):
    """A till passed its cash limit: the cashier's terminal and the manager are told to drop."""

    device_id: str = Field(description="Register (till) over its limit.")
    terminal: str | None = Field(default=None, description="POS terminal of the register.")
    balance_cents: int = Field(description="Cash in the till, in cents.")
    limit_cents: int = Field(description="The till's limit, in cents.")


class CashPickupPayload(Payload):
    """An armored pickup was scheduled, verified, refused, completed or cancelled.

    Carries ids only: never the scheduled time (only pickup planners may know it), the
    code word, the one-time code or the guard's name.
    """

    pickup_id: str = Field(description="Pickup concerned.")
    action: Literal["scheduled", "verified", "refused", "completed", "cancelled"] = Field(
        description="What happened."
    )
    carrier_id: str | None = Field(default=None, description="Carrier company record.")
    bags: tuple[str, ...] = Field(default=(), description="Deposit bag containers handed over.")
    reason: str = Field(default="", description="Why it was refused or cancelled.")


class PosBatchPayload(Payload):
    """A batch of POS transactions was ingested; the digest covers every accepted record."""

    batch_id: str = Field(description="Ingest batch.")
    source: str = Field(description="webhook, csv, toast-csv …")
    accepted: int = Field(ge=0, description="New transactions stored.")
    duplicates: int = Field(ge=0, description="Transactions already stored (ignored).")
    rejected: int = Field(ge=0, description="Records refused and kept for review.")
    exceptions: int = Field(default=0, ge=0, description="Review items the rules raised.")
    digest: str = Field(description="SHA-256 of the accepted records in canonical form.")


class CashTaskPayload(Payload):
    """A cash compliance task (regulator notice, Form 8300) was opened or done."""

    task_id: str = Field(description="Task concerned.")
    kind: Literal["regulator_notice", "form_8300"] = Field(description="Which task.")
    action: Literal["opened", "done"] = Field(description="What happened.")
    due_at: datetime | None = Field(default=None, description="Deadline (UTC), when known.")


class CashConfigPayload(Payload):
    """A cash container, carrier, cashier code or site cash setting was created or changed."""

    target: str = Field(description="What changed, e.g. container:<id>, settings, carrier:<id>.")
    action: Literal["created", "updated", "retired"] = Field(description="What happened.")
    detail: dict[str, str] = Field(default_factory=dict, description="Non-secret facts.")


EVENT_CASH_MOVEMENT = register(
    EventType("cash.movement", CashMovementPayload, "Cash moved between containers.")
)
EVENT_CASH_COUNT = register(
    EventType("cash.count", CashCountPayload, "A blind cash count progressed.")
)
EVENT_CASH_REVIEW = register(
    EventType("cash.review", CashReviewPayload, "A POS exception or variance review changed.")
)
EVENT_CASH_DROP_REQUESTED = register(
    EventType("cash.drop_requested", CashDropRequestPayload, "A till must drop cash to the safe.")
)
EVENT_CASH_PICKUP = register(
    EventType("cash.pickup", CashPickupPayload, "An armored pickup changed.")
)
EVENT_POS_BATCH = register(
    EventType("cash.pos_batch", PosBatchPayload, "POS transactions were ingested.")
)
EVENT_CASH_TASK = register(
    EventType("cash.task", CashTaskPayload, "A cash compliance task was opened or done.")
)
EVENT_CASH_CONFIG = register(
    EventType("cash.config", CashConfigPayload, "Cash configuration changed.")
)


# --- lockdown overrides ---------------------------------------------------------------------


class DoorOverridePayload(Payload):
    """A locked-down door unlocked on purpose, by a role allowed to override a lockdown."""

    door_id: str = Field(description="Door unlocked despite the lockdown.")
    lockdown_zone_ids: tuple[str, ...] = Field(
        description="Root zones of the lockdowns that held the door when it was overridden."
    )
    reason: str = Field(min_length=1, description="Why, in the overriding person's words.")


EVENT_DOOR_OVERRIDE = register(
    EventType(
        "door.lockdown_override",
        DoorOverridePayload,
        "A locked-down door was unlocked by an explicit, reasoned lockdown override.",
    )
)


# --- compliance ---------------------------------------------------------------------------


class CompliancePayload(Payload):
    """A compliance record, override, hold, corrective action, run or purge changed.

    Carries ids, rule ids, counts and record kinds only: never a name or a document.
    """

    action: Literal[
        "record_added",
        "incident_reported",
        "override_set",
        "profile_set",
        "hold_placed",
        "hold_released",
        "action_opened",
        "action_closed",
        "checked",
        "purged",
    ] = Field(description="What happened.")
    target: str = Field(description="Record, rule or action id concerned ('*' for runs).")
    detail: dict[str, str] = Field(default_factory=dict, description="Non-personal facts.")


EVENT_COMPLIANCE = register(
    EventType("compliance.changed", CompliancePayload, "Compliance data changed or was checked.")
)


# --- upkeep: device holds, walk tests, recording and view checks, maintenance ---


class DeviceHoldPayload(Payload):
    """Devices were put on hold (a walk test: no alarm, no rule fires on them) or released."""

    device_ids: tuple[str, ...] = Field(description="Devices held or released.")
    active: bool = Field(description="True while held; False when released.")
    until: datetime | None = Field(default=None, description="When the hold ends (UTC).")
    reason: str = Field(default="", description="Why, e.g. walk test <id>.")


class WalkTestPayload(Payload):
    """A walk test of a zone started, saw a device, or finished with its results."""

    walk_test_id: str = Field(description="Walk test concerned.")
    zone_id: str = Field(description="Zone tested.")
    action: Literal["started", "device_seen", "finished", "cancelled"] = Field(
        description="What happened."
    )
    device_id: str | None = Field(default=None, description="Device seen (device_seen).")
    passed: tuple[str, ...] = Field(default=(), description="Devices that reported (finished).")
    failed: tuple[str, ...] = Field(default=(), description="Devices that stayed silent.")


class RecordingCheckPayload(Payload):
    """Proof of recording of a camera over a period was checked."""

    check_id: str = Field(description="Recording check concerned.")
    camera_id: str = Field(description="Camera checked.")
    state: Literal["ok", "gaps", "unknown"] = Field(description="What was found.")
    coverage_pct: float | None = Field(default=None, description="Share recorded, 0–100.")
    gaps: int = Field(default=0, ge=0, description="Gaps longer than the tolerance.")
    period_start: datetime = Field(description="Start of the period (UTC).")
    period_end: datetime = Field(description="End of the period (UTC).")


class ViewCheckPayload(Payload):
    """A camera snapshot was compared with its approved reference view."""

    check_id: str = Field(description="View check concerned.")
    camera_id: str = Field(description="Camera checked.")
    verdict: Literal["ok", "covered", "defocused", "moved", "blocked", "unknown"] = Field(
        description="What was found."
    )
    detail: str = Field(default="", description="What was measured, in words.")


class MaintenancePayload(Payload):
    """An asset, schedule, work order or reference view was created, changed or completed."""

    target: str = Field(description="What changed, e.g. work_order:<id>, asset:<device>.")
    action: Literal["created", "updated", "done", "approved"] = Field(description="What happened.")
    detail: dict[str, str] = Field(default_factory=dict, description="Non-secret facts.")


EVENT_DEVICE_HOLD = register(
    EventType("device.hold", DeviceHoldPayload, "Devices were put on hold or released.")
)
EVENT_WALK_TEST = register(
    EventType("maintenance.walk_test", WalkTestPayload, "A walk test progressed.")
)
EVENT_RECORDING_CHECK = register(
    EventType("maintenance.recording_check", RecordingCheckPayload, "Recording was checked.")
)
EVENT_VIEW_CHECK = register(
    EventType("maintenance.view_check", ViewCheckPayload, "A camera view was checked.")
)
EVENT_MAINTENANCE = register(
    EventType("maintenance.record", MaintenancePayload, "A maintenance record changed.")
)


# --- built-in video analytics and biometric identity ----------------------------------------


class VideoConfigPayload(Payload):
    """An analysed camera, a zone rule or a face-checked door was set up or removed."""

    target: str = Field(description="What changed, e.g. camera:<id>, rule:<id>, face_door:<id>.")
    action: Literal["created", "updated", "removed"] = Field(description="What happened.")
    detail: dict[str, str] = Field(default_factory=dict, description="Non-secret facts.")


class VideoRulePayload(Payload):
    """A built-in analytics rule fired: after-hours presence or a line crossing."""

    camera_id: str = Field(description="Camera that saw it.")
    kind: Literal["after_hours", "line_cross"] = Field(description="Which rule.")
    label: str = Field(description="Object label, e.g. person.")
    zone_id: str | None = Field(default=None, description="Our zone, when the rule names one.")
    rule_id: str = Field(description="The rule that fired.")
    detail: str = Field(default="", description="E.g. the crossing direction.")


class BiometricPayload(Payload):
    """A biometric enrolment was made or revoked (never the template or face data)."""

    subject: str = Field(description="Person enrolled.")
    kind: Literal["fingerprint", "face"] = Field(description="Biometric kind.")
    action: Literal["enrolled", "revoked", "expired"] = Field(description="What happened.")
    enrolment_id: str = Field(description="The enrolment record.")


class FaceSeenPayload(Payload):
    """A face was recognised on a camera (Frigate's face recognition or our own)."""

    camera_id: str = Field(description="Camera that saw it.")
    subject: str | None = Field(default=None, description="Person matched, when known.")
    face_key: str | None = Field(
        default=None, description="Keyed hash of the face-library name (never the name)."
    )
    score: float = Field(ge=0, le=1, description="Recognition confidence 0–1.")
    source: str = Field(description="Who recognised it, e.g. frigate.")


EVENT_VIDEO_CONFIG = register(
    EventType("video.config", VideoConfigPayload, "Video analytics configuration changed.")
)
EVENT_VIDEO_RULE = register(
    EventType("video.rule", VideoRulePayload, "A built-in video rule fired.")
)
EVENT_BIOMETRIC = register(
    EventType("biometric.enrolment", BiometricPayload, "A biometric enrolment changed.")
)
EVENT_FACE_SEEN = register(
    EventType("video.face", FaceSeenPayload, "A face was recognised on a camera.")
)


# --- transport ------------------------------------------------------------------------------


class TransportTripPayload(Payload):
    """A trip was planned, departed, arrived, received, handed over, cancelled or refused a change.

    Carries ids and reasons only: never the planned time or route of a trip that has not
    left (only its crew, dispatchers and security managers may know them).
    """

    trip_id: str = Field(description="Trip concerned.")
    action: Literal[
        "planned",
        "departed",
        "arrived",
        "received",
        "handover",
        "cancelled",
        "change_refused",
        "alarm",
    ] = Field(description="What happened.")
    vehicle_id: str | None = Field(default=None, description="Vehicle of the trip.")
    kind: str = Field(default="", description="Alarm kind or hand-over direction, when relevant.")
    digest: str = Field(default="", description="SHA-256 of the frozen manifest, from departure.")
    reason: str = Field(default="", description="Why a change was refused, or what was found.")


class TransportConfigPayload(Payload):
    """A vehicle, driver or stored route was created or changed."""

    target: str = Field(description="What changed, e.g. vehicle:<id>, driver:<id>, route:<id>.")
    action: Literal["created", "updated", "retired"] = Field(description="What happened.")


EVENT_TRANSPORT_TRIP = register(
    EventType("transport.trip", TransportTripPayload, "A trip milestone or alarm.")
)
EVENT_TRANSPORT_CONFIG = register(
    EventType("transport.config", TransportConfigPayload, "Transport configuration changed.")
)


# --- seed-to-sale inventory ---


class InventoryMovementPayload(Payload):
    """A package changed: created, moved, adjusted, sold, destroyed, shipped or received.

    The inventory's append-only log: each row of ``inv_movements`` has one of these with
    the same id. Quantities are decimal text in the package's unit; never a note's text.
    """

    movement_id: str = Field(description="Movement concerned.")
    kind: str = Field(description="create, move, adjust, sale, destroy, ship, receive, confirm.")
    tag: str = Field(description="Package tag.")
    delta: str = Field(default="0", description="Signed quantity change, decimal text.")
    unit: str = Field(description="Unit of the package (g, mg, kg, lb, oz, ml, l, each).")
    from_location: str | None = Field(default=None, description="Location left.")
    to_location: str | None = Field(default=None, description="Location entered.")
    reason: str = Field(default="", description="Adjustment reason code or destruction method.")
    subject: str | None = Field(default=None, description="Person id of who moved it.")
    witness: str | None = Field(default=None, description="Person id of the second person.")
    status: Literal["posted", "pending", "confirmed", "refused"] = Field(
        default="posted", description="Pending until the second person confirms."
    )
    flags: tuple[str, ...] = Field(default=(), description="no_badge, zone_armed, …")


class InventoryCountPayload(Payload):
    """A blind cycle count started, got a line, or completed (never the book quantity)."""

    count_id: str = Field(description="Count concerned.")
    action: Literal["started", "counted", "completed"] = Field(description="What happened.")
    lines: int = Field(default=0, ge=0, description="Packages in the sample.")
    variances: int = Field(default=0, ge=0, description="Lines that differ (completion).")


class InventoryFindingPayload(Payload):
    """A reconciliation or security finding was raised or closed."""

    finding_id: str = Field(description="Finding concerned.")
    check: str = Field(description="Check that found it.")
    severity: Literal["info", "low", "medium", "high"] = Field(description="How serious.")
    action: Literal["raised", "closed"] = Field(description="What happened.")


class InventoryExchangePayload(Payload):
    """A state-system file was imported (or refused) or an export was produced."""

    import_id: str = Field(description="Import or export record.")
    source: str = Field(description="metrc or ccrs.")
    kind: str = Field(description="packages, plants, harvests, transfers, receipts, …")
    direction: Literal["import", "export"] = Field(description="Which way.")
    status: Literal["accepted", "rejected", "duplicate", "exported"] = Field(description="Outcome.")
    records: int = Field(default=0, ge=0, description="Records accepted or written.")
    rejected: int = Field(default=0, ge=0, description="Records refused (kept for review).")
    digest: str = Field(description="SHA-256 of the file.")


class InventoryConfigPayload(Payload):
    """An item, location, plant batch or harvest was created or changed."""

    target: str = Field(description="What changed, e.g. item:<id>, location:<id>.")
    action: Literal["created", "updated"] = Field(description="What happened.")


EVENT_INVENTORY_MOVEMENT = register(
    EventType("inventory.movement", InventoryMovementPayload, "A package of product changed.")
)
EVENT_INVENTORY_COUNT = register(
    EventType("inventory.count", InventoryCountPayload, "A blind cycle count progressed.")
)
EVENT_INVENTORY_FINDING = register(
    EventType("inventory.finding", InventoryFindingPayload, "An inventory finding changed.")
)
EVENT_INVENTORY_EXCHANGE = register(
    EventType("inventory.exchange", InventoryExchangePayload, "A state-system file moved.")
)
EVENT_INVENTORY_CONFIG = register(
    EventType("inventory.config", InventoryConfigPayload, "Inventory configuration changed.")
)

"""Reason codes of access decisions, each distinct, with a one-line text for operators."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Why a credential was (not) granted at a door."""

    GRANTED = "granted"
    EGRESS = "egress"
    ANTI_PASSBACK_SOFT = "anti_passback_soft"
    UNKNOWN_DOOR = "unknown_door"
    LOCKDOWN = "lockdown"
    DOOR_LOCKED = "door_locked"
    EGRESS_ONLY = "egress_only"
    UNKNOWN_CREDENTIAL = "unknown_credential"
    CARD_REQUIRED = "card_required"
    REVOKED = "revoked"
    NOT_YET_ACTIVE = "not_yet_active"
    EXPIRED = "expired"
    PERSON_SUSPENDED = "person_suspended"
    PIN_REQUIRED = "pin_required"
    PIN_INVALID = "pin_invalid"
    NO_LEVEL_FOR_DOOR = "no_level_for_door"
    OUTSIDE_SCHEDULE = "outside_schedule"
    THREAT_LEVEL = "threat_level"
    BACKGROUND_CHECK_PENDING = "background_check_pending"
    TRAINING_REQUIRED = "training_required"
    FIRST_PERSON_PENDING = "first_person_pending"
    INTERLOCK_OPEN = "interlock_open"
    ANTI_PASSBACK = "anti_passback"
    ESCORT_REQUIRED = "escort_required"
    ESCORT_RATIO_EXCEEDED = "escort_ratio_exceeded"
    TWO_PERSON_PENDING = "two_person_pending"
    TWO_PERSON_TIMEOUT = "two_person_timeout"
    FACE_REQUIRED = "face_required"
    FACE_MISMATCH = "face_mismatch"


GRANTING: frozenset[Reason] = frozenset({Reason.GRANTED, Reason.EGRESS, Reason.ANTI_PASSBACK_SOFT})
"""Reasons that release the door (soft anti-passback grants but flags)."""

PENDING: frozenset[Reason] = frozenset(
    {
        Reason.PIN_REQUIRED,
        Reason.TWO_PERSON_PENDING,
        Reason.TWO_PERSON_TIMEOUT,
        Reason.ESCORT_REQUIRED,
        Reason.FACE_REQUIRED,
    }
)
"""Reasons where the door waits for a second factor (PIN, second person, host)."""

TEXT: dict[Reason, str] = {
    Reason.GRANTED: "access granted",
    Reason.EGRESS: "request to exit: egress is always allowed",
    Reason.ANTI_PASSBACK_SOFT: "granted, but flagged: soft anti-passback violation",
    Reason.UNKNOWN_DOOR: "the door is not part of any loaded site",
    Reason.LOCKDOWN: "the door is locked down",
    Reason.DOOR_LOCKED: "the door is in locked mode and accepts no credential",
    Reason.EGRESS_ONLY: "the door is egress-only",
    Reason.UNKNOWN_CREDENTIAL: "the credential is not enrolled",
    Reason.CARD_REQUIRED: "the door accepts cards only, not a PIN alone",
    Reason.REVOKED: "the credential was revoked",
    Reason.NOT_YET_ACTIVE: "the credential is not active yet",
    Reason.EXPIRED: "the credential has expired",
    Reason.PERSON_SUSPENDED: "the cardholder is suspended or offboarded",
    Reason.PIN_REQUIRED: "a PIN is required",
    Reason.PIN_INVALID: "the PIN does not match",
    Reason.NO_LEVEL_FOR_DOOR: "no access level of the cardholder covers this door",
    Reason.OUTSIDE_SCHEDULE: "outside the schedule of every level covering this door",
    Reason.THREAT_LEVEL: "the site threat level suspends the cardholder's levels",
    Reason.BACKGROUND_CHECK_PENDING: "the level needs a cleared background check",
    Reason.TRAINING_REQUIRED: "the level needs a current training record",
    Reason.FIRST_PERSON_PENDING: "the door waits for a supervisor to badge in first",
    Reason.INTERLOCK_OPEN: "another door of the interlock is open",
    Reason.ANTI_PASSBACK: "anti-passback: already inside this area",
    Reason.ESCORT_REQUIRED: "a visitor needs a host badge at this door first",
    Reason.ESCORT_RATIO_EXCEEDED: "the host already escorts the most visitors allowed",
    Reason.TWO_PERSON_PENDING: "two-person rule: waiting for a second authorised card",
    Reason.TWO_PERSON_TIMEOUT: "two-person rule: the first card timed out; waiting again",
    Reason.FACE_REQUIRED: "the door needs the cardholder's face on its camera first",
    Reason.FACE_MISMATCH: "the face on the door camera is not the cardholder's",
}

"""What the site file does not say but the rules need: camera settings, power, locks, retention.

A profile sits next to the site file (``site.compliance.yaml``) or in the data
directory. Everything in it is optional: a rule whose fact is missing is *unknown*,
never silently passed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bastion.compliance.yamlread import line_for, read_yaml
from bastion.core.errors import ConfigError

ZoneRole = Literal[
    "vault",
    "limited_access",
    "pos",
    "loading",
    "destruction",
    "surveillance_room",
    "cultivation",
    "processing",
    "storage",
    "parking",
]
LicenseType = Literal["retail", "cultivation", "manufacturing", "transport", "testing"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CameraSettings(_Strict):
    """Recording settings of a camera (or of every camera, as ``default``)."""

    width: int | None = Field(default=None, gt=0, description="Recorded width in pixels.")
    height: int | None = Field(default=None, gt=0, description="Recorded height in pixels.")
    fps: float | None = Field(default=None, gt=0, description="Recorded frames per second.")
    retention_days: int | None = Field(default=None, ge=0, description="Days kept on site.")


class VideoSettings(_Strict):
    """Recorder facts that apply to the whole system."""

    retention_days: int | None = Field(default=None, ge=0, description="Days kept on site.")
    offsite_backup_days: int | None = Field(default=None, ge=0, description="Days kept off site.")
    failure_alert_minutes: float | None = Field(
        default=None, ge=0, description="Minutes from a camera or recorder failure to the alert."
    )
    time_sync: Literal["ntp", "nist", "gps", "none"] | None = Field(
        default=None, description="How recorder clocks are kept right."
    )
    law_enforcement_remote_access: bool | None = Field(
        default=None, description="Whether police can view live video remotely on request."
    )
    recorder_locked: bool | None = Field(
        default=None, description="Recorder kept in a locked room, cabinet or lockbox."
    )


class PowerSettings(_Strict):
    """Backup power for the security systems."""

    backup_minutes: float | None = Field(default=None, ge=0, description="UPS runtime.")
    generator: bool | None = Field(default=None, description="A generator carries the load.")


class AlarmSettings(_Strict):
    """The intrusion alarm's monitoring."""

    monitored: bool | None = Field(default=None, description="Central-station monitoring.")
    licensed_operator: bool | None = Field(
        default=None, description="Installed and monitored by a licensed alarm company."
    )
    police_dispatch: bool | None = Field(
        default=None, description="Hold-up and intrusion signals reach the police."
    )


class DoorSettings(_Strict):
    """Facts about one door the site file does not hold."""

    lock: Literal["manual", "electric", "both", "none"] | None = Field(default=None)


class Profile(_Strict):
    """A site's compliance profile."""

    state: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    license: LicenseType | None = Field(default=None)
    zones: dict[ZoneRole, list[str]] = Field(default_factory=dict)
    doors: dict[str, DoorSettings] = Field(default_factory=dict)
    barrier_sensors: dict[str, list[Literal["contact", "glass_break", "motion"]]] = Field(
        default_factory=dict
    )
    cameras: dict[str, CameraSettings] = Field(default_factory=dict)
    video: VideoSettings = Field(default_factory=VideoSettings)
    power: PowerSettings = Field(default_factory=PowerSettings)
    alarm: AlarmSettings = Field(default_factory=AlarmSettings)
    retention: dict[str, int | None] = Field(
        default_factory=dict,
        description="Days each record class is kept (null: kept for ever).",
    )

    def camera(self, camera_id: str) -> CameraSettings:
        """Return a camera's settings, falling back field by field to ``default``."""
        base = self.cameras.get("default", CameraSettings())
        own = self.cameras.get(camera_id)
        if own is None:
            return base
        merged = base.model_dump() | {k: v for k, v in own.model_dump().items() if v is not None}
        return CameraSettings(**merged)


def first_error(exc: ValidationError) -> tuple[str, str]:
    """Return (dotted field, plain message) of a pydantic error."""
    error = exc.errors()[0]
    field = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return field, f"unknown field {str(error['loc'][-1])!r}"
    if error["type"] == "missing":
        return field, f"missing required field {str(error['loc'][-1])!r}"
    return field, error["msg"].removeprefix("Value error, ")


def load_profile(path: Path) -> Profile:
    """Read a profile file; a bad one is a ConfigError naming file, line and field."""
    data, lines = read_yaml(path)
    if data is None:
        return Profile()
    if not isinstance(data, dict):
        raise ConfigError("a profile must be a mapping", file=str(path), line=1)
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        field, message = first_error(exc)
        raise ConfigError(
            message, file=str(path), line=line_for(lines, field), field=field
        ) from None

"""Strict configuration of the OSDP integration (selected by ``type: osdp``).

Readers, their bus addresses, baud rates and doors come from the site model;
this config says how each bus is reached and how reader inputs are wired.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bastion.site.schemas import Identifier


class OsdpModel(BaseModel):
    """Base of the OSDP config models: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class BusConfig(OsdpModel):
    """How one OSDP bus (named in the site model's ``osdp.bus``) is reached."""

    name: Identifier = Field(title="Bus", description="Bus name used by readers in the site.")
    transport: Literal["serial", "pty", "tcp"] = Field(
        title="Transport",
        description="serial: RS-485 adapter; pty: a pseudo-terminal path; tcp: a serial server.",
    )
    port: str | None = Field(
        default=None, title="Port", description="Device path for serial and pty transports."
    )
    host: str | None = Field(default=None, title="Host", description="TCP host of the bus.")
    tcp_port: int | None = Field(
        default=None, ge=1, le=65535, title="TCP port", description="TCP port of the bus."
    )
    rs485: bool = Field(
        default=False, title="Kernel RS-485", description="Enable the kernel RS-485 mode (serial)."
    )
    pace: bool | None = Field(
        default=None,
        title="Pace writes",
        description="Add wire time per byte (default: on for pty and tcp, off for serial).",
    )

    @model_validator(mode="after")
    def verify_endpoint(self) -> BusConfig:
        """Require a port for serial and pty, a host and port for tcp."""
        if self.transport == "tcp" and (not self.host or self.tcp_port is None):
            raise ValueError(f"bus {self.name!r}: tcp needs 'host' and 'tcp_port'")
        if self.transport != "tcp" and not self.port:
            raise ValueError(f"bus {self.name!r}: {self.transport} needs 'port'")
        return self

    @property
    def paced(self) -> bool:
        """Return whether writes get the line's wire time added."""
        return self.pace if self.pace is not None else self.transport != "serial"


class IoConfig(OsdpModel):
    """Which reader input and output carry the door contact, REX and strike."""

    contact_input: int = Field(
        default=0, ge=0, le=63, title="Contact input", description="ISTAT index."
    )
    rex_input: int = Field(default=1, ge=0, le=63, title="REX input", description="ISTAT index.")
    contact_open_level: Literal[0, 1] = Field(
        default=1, title="Open level", description="Input level meaning the door is open."
    )
    strike_output: int = Field(
        default=0, ge=0, le=255, title="Strike output", description="OUT number of the strike."
    )
    tamper_index: int = Field(default=0, ge=0, title="Tamper", description="LSTAT tamper index.")
    power_index: int = Field(default=1, ge=0, title="Power", description="LSTAT power index.")


class OsdpConfig(OsdpModel):
    """Settings of the OSDP control panel."""

    type: Literal["osdp"] = Field(default="osdp", title="Type", description="Integration type.")
    site_id: str = Field(title="Site", description="Site whose readers to drive.")
    buses: tuple[BusConfig, ...] = Field(min_length=1, title="Buses", description="OSDP buses.")
    readers: tuple[Identifier, ...] | None = Field(
        default=None, title="Readers", description="Only these reader ids (default: all on buses)."
    )
    door_io: dict[Identifier, Identifier] = Field(
        default_factory=dict,
        title="Door I/O reader",
        description="Reader whose inputs and strike output serve each door (default: first reader).",
    )
    io: IoConfig = Field(default_factory=IoConfig, title="I/O wiring", description="Input map.")
    card_and_pin_doors: tuple[Identifier, ...] = Field(
        default=(), title="Card and PIN doors", description="Doors that ask for a PIN after a card."
    )
    pin_timeout_s: float = Field(
        default=10.0, gt=0, le=120, title="PIN timeout", description="Seconds to type the PIN."
    )
    held_prealarm_s: float = Field(
        default=5.0, ge=0, title="Pre-alarm", description="Beep this long before held-open."
    )
    rex_window_s: float = Field(
        default=10.0,
        gt=0,
        title="REX window",
        description="Seconds a REX press shunts the contact.",
    )
    install_mode: bool = Field(
        default=True,
        title="Install mode",
        description="Key readers that have no key yet (SCBK-D, then a random per-reader key).",
    )
    require_secure: bool = Field(
        default=True,
        title="Require secure channel",
        description="Alarm on, and ignore reads from, readers without a secure channel.",
    )
    secure_grace_s: float = Field(
        default=5.0, gt=0, title="Secure grace", description="Plain-text seconds before alarm."
    )
    recover_after_s: float = Field(
        default=1.0, gt=0, title="Recovery", description="First retry delay for an offline reader."
    )
    max_backoff_s: float = Field(
        default=30.0, gt=0, title="Max back-off", description="Longest delay between retries."
    )
    rotation_poll_s: float = Field(
        default=5.0, gt=0, title="Rotation poll", description="How often to look for CLI requests."
    )
    idle_ms: float = Field(
        default=2.0, gt=0, le=20, title="Idle", description="Refresh-thread sleep between passes."
    )
    log_level: Literal["error", "warning", "info", "debug"] = Field(
        default="error", title="libosdp log level", description="Verbosity of libosdp itself."
    )

    @model_validator(mode="after")
    def verify_buses(self) -> OsdpConfig:
        """Bus names are unique."""
        names = [b.name for b in self.buses]
        if len(set(names)) != len(names):
            raise ValueError("bus names must be unique")
        return self

"""Process settings from the environment (``BASTION_*``) with safe embedded defaults."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where data lives, which database and bus to use, and how the server listens."""

    model_config = SettingsConfigDict(env_prefix="BASTION_", extra="ignore")

    data_dir: Path = Field(
        default=Path("bastion-data"),
        title="Data directory",
        description="Holds the SQLite database, the secret key and exports.",
    )
    database_url: str | None = Field(
        default=None,
        title="Database URL",
        description="SQLAlchemy URL; defaults to SQLite (WAL) in the data directory.",
    )
    secret_keys: str | None = Field(
        default=None,
        title="Secret keys",
        description="Comma-separated base64 master keys, newest first; default: data_dir/secret.key.",
    )
    config: Path | None = Field(
        default=None,
        title="Configuration file",
        description="YAML file of this node's integrations; default: data_dir/bastion.yaml if present.",
    )
    host: str = Field(default="127.0.0.1", title="Host", description="Address to listen on.")
    port: int = Field(default=8600, title="Port", description="TCP port of the API and console.")
    cookie_secure: bool | None = Field(
        default=None,
        title="Secure cookies",
        description="Mark session cookies Secure (default: on, also on loopback behind a TLS "
        "proxy); only the plain-HTTP demo turns it off unless this is set.",
    )
    session_idle_minutes: int = Field(
        default=15, ge=1, title="Session idle timeout", description="Minutes of inactivity."
    )
    session_max_hours: int = Field(
        default=12, ge=1, title="Session lifetime", description="Hours before re-authentication."
    )

    ledger_key_file: Path | None = Field(
        default=None,
        title="Ledger signing key file",
        description="Ed25519 key (0600) that signs ledger checkpoints; never in the database. "
        "Default: data_dir/ledger-signing.key.",
    )
    checkpoint_dir: Path | None = Field(
        default=None,
        title="Checkpoint directory",
        description="Where signed ledger checkpoints are appended (one file per ledger); keep it "
        "outside the data directory. Default: $XDG_STATE_HOME/bastion/checkpoints, "
        "i.e. ~/.local/state/bastion/checkpoints.",
    )
    checkpoint_every_events: int = Field(
        default=1000,
        ge=1,
        title="Checkpoint every N events",
        description="Sign a checkpoint after this many committed events.",
    )
    checkpoint_every_seconds: float = Field(
        default=60.0,
        gt=0,
        title="Checkpoint every T seconds",
        description="Sign a checkpoint at least this often while the ledger grows.",
    )
    checkpoint_url: str | None = Field(
        default=None,
        title="Remote checkpoint copy",
        description="HTTP(S) URL that receives each checkpoint record (POST or PUT) and "
        "returns them all on GET; e.g. a central node or a log collector.",
    )
    checkpoint_url_method: Literal["POST", "PUT"] = Field(
        default="POST", title="Remote method", description="How records are sent to the URL."
    )
    checkpoint_url_token: SecretStr | None = Field(
        default=None,
        title="Remote token",
        description="Bearer token sent to the checkpoint URL.",
    )
    alarm_repeat_window_seconds: float = Field(
        default=120.0,
        gt=0,
        title="Alarm repeat window",
        description="An alarm of the same type from the same door or device at the same site "
        "within this many seconds of its last occurrence is counted on the open alarm "
        "instead of raising a new one.",
    )

    def resolved_database_url(self) -> str:
        """Return the configured URL or the embedded SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'bastion.db').resolve()}"

    def resolved_ledger_key_file(self) -> Path:
        """Return the checkpoint signing key file (default: in the data directory)."""
        return self.ledger_key_file or self.data_dir / "ledger-signing.key"

    def resolved_checkpoint_dir(self) -> Path:
        """Return the checkpoint directory (default: the user's state directory)."""
        if self.checkpoint_dir is not None:
            return self.checkpoint_dir
        state = os.environ.get("XDG_STATE_HOME")
        base = Path(state) if state else Path("~/.local/state").expanduser()
        return base / "bastion" / "checkpoints"

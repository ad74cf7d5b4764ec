"""Process settings from the environment (``BASTION_*``) with safe embedded defaults."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
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
        description="Mark session cookies Secure; default: on unless serving plain HTTP on loopback.",
    )
    session_idle_minutes: int = Field(
        default=15, ge=1, title="Session idle timeout", description="Minutes of inactivity."
    )
    session_max_hours: int = Field(
        default=12, ge=1, title="Session lifetime", description="Hours before re-authentication."
    )

    def resolved_database_url(self) -> str:
        """Return the configured URL or the embedded SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'bastion.db').resolve()}"

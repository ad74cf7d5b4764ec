"""Records the checks read: counts, reviews, incidents, visits, training, attestations.

The server builds them from its database (see :mod:`bastion.compliance.store`); the
command line reads a ``records.yaml`` from the data directory. Without any source the
record checks answer *unknown*: missing data is never a pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bastion.compliance.profile import first_error
from bastion.compliance.yamlread import line_for, read_yaml
from bastion.core.errors import ConfigError


@dataclass(frozen=True)
class Record:
    """One dated fact: what happened, when, who did it, and where it is kept."""

    kind: str
    at: datetime
    by: str = ""
    rule: str | None = None
    ref: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """Return a short evidence line."""
        who = f" by {self.by}" if self.by else ""
        where = f" ({self.ref})" if self.ref else ""
        return f"{self.kind} {self.at:%Y-%m-%d %H:%M} UTC{who}{where}"


@dataclass(frozen=True)
class Records:
    """All records of a site; ``available`` is False when no source was given."""

    items: tuple[Record, ...] = ()
    available: bool = False

    def of(self, kind: str) -> list[Record]:
        """Return the records of one kind, newest first."""
        return sorted((r for r in self.items if r.kind == kind), key=lambda r: r.at, reverse=True)


class _RecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    at: datetime
    by: str = ""
    rule: str | None = None
    ref: str = ""
    detail: dict[str, Any] = Field(default_factory=dict)

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give the time zone, e.g. 2026-12-01T22:00:00Z")
        return value.astimezone(UTC)


class _RecordsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    records: list[_RecordIn] = Field(default_factory=list)


def load_records(path: Path) -> Records:
    """Read a records file; a bad one is a ConfigError naming file, line and field."""
    data, lines = read_yaml(path)
    if data is None:
        return Records(available=True)
    try:
        parsed = _RecordsFile.model_validate(data)
    except ValidationError as exc:
        where, message = first_error(exc)
        raise ConfigError(
            message, file=str(path), line=line_for(lines, where), field=where
        ) from None
    items = tuple(Record(**r.model_dump()) for r in parsed.records)
    return Records(items=items, available=True)

"""What checkpoint verification reports: a kind, a message in plain words, the seq concerned."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bastion.store.anchor.records import parse_time


class FindingKind(StrEnum):
    """What a finding is about."""

    CHAIN = "chain"
    TRUNCATED = "truncated"
    CHANGED = "changed"
    RENUMBERED = "renumbered"
    REWRITTEN = "rewritten"
    SIGNATURE = "signature"
    UNKNOWN_KEY = "unknown_key"
    ORDER = "order"
    FORK = "fork"
    MISSING = "missing"
    UNREADABLE = "unreadable"
    UNANCHORED = "unanchored"
    KEYS = "keys"
    REMOTE = "remote"
    NOTE = "note"


@dataclass(frozen=True)
class Finding:
    """One thing verification found; ``problem`` False means a warning."""

    kind: FindingKind
    message: str
    seq: int | None = None
    problem: bool = True


def shown_time(text: str) -> str:
    """Return a record time as people read it (UTC, to the second)."""
    try:
        return parse_time(text).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return text

"""Ports between integrations and domains: what a reader asks and what the engine answers.

Integrations import only ``core`` and ``site``; they reach the access engine
through :class:`AccessDecider`, found on the hub, and never import ``access``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from bastion.core.context import Context


class PresentationKind(StrEnum):
    """How a credential was presented at a reader."""

    CARD = "card"
    PIN = "pin"
    CARD_AND_PIN = "card_and_pin"
    MOBILE = "mobile"


@dataclass(frozen=True, slots=True)
class Presentation:
    """A credential presented at a door's reader.

    ``card_hash`` is the keyed hash of the card data (see :class:`CredentialHasher`);
    raw card numbers and PINs never leave the integration in clear.
    """

    door_id: str
    reader_id: str | None
    kind: PresentationKind
    card_hash: str | None = None
    pin_hash: str | None = None
    mobile_token_hash: str | None = None
    time: datetime | None = None
    context: Context = field(default_factory=Context)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The engine's answer: whether to release the door, why, and for how long."""

    granted: bool
    reason: str
    detail: str = ""
    person_id: str | None = None
    credential_id: str | None = None
    strike_time_s: float = 0.0
    pending: bool = False
    """True when the decision waits for a second factor (PIN, second person, escort)."""
    snapshot_version: int = 0


class AccessDecider(Protocol):
    """The access engine as integrations see it. Decisions are in memory and never block."""

    def decide(self, presentation: Presentation) -> Verdict:
        """Decide at once from the current snapshot; queue the decision event to the ledger."""
        ...


class CredentialHasher(Protocol):
    """Keyed hashing of credential data, so card numbers are never stored or sent in clear."""

    def __call__(self, value: str, *, purpose: str) -> str:
        """Return the keyed hash of ``value`` for ``purpose`` (``card``, ``pin`` …)."""
        ...

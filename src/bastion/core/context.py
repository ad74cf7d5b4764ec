"""Causality chain carried by every event and action."""

from __future__ import annotations

from dataclasses import dataclass, field

from ulid import ULID


def new_id() -> str:
    """Return a new time-ordered ULID string."""
    return str(ULID())


@dataclass(frozen=True, slots=True)
class Context:
    """Who or what caused an event, and which earlier context it descends from.

    ``actor`` is a stable reference such as ``user:<id>``, ``device:<id>``,
    ``rule:<id>`` or ``system``; never a secret or a personal detail.
    """

    actor: str = "system"
    parent_id: str | None = None
    id: str = field(default_factory=new_id)

    def child(self, actor: str | None = None) -> Context:
        """Return a new context caused by this one."""
        return Context(actor=actor or self.actor, parent_id=self.id)

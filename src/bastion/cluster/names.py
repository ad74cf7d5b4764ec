"""Stream, subject and consumer names, under one prefix so deployments (and tests) never collide."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bastion.core.errors import InvalidInput

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,63}$")
DEFAULT_PREFIX = "bastion"


def check_token(value: str, what: str) -> str:
    """Return ``value`` when it can be one NATS subject token (no dots, wildcards or spaces)."""
    if not _TOKEN.fullmatch(value):
        raise InvalidInput(
            f"{what} {value!r} cannot be used on the bus: use letters, digits, '-' or '_' "
            "(at most 63)"
        )
    return value


@dataclass(frozen=True)
class Names:
    """Where a deployment's events, commands and heartbeats travel."""

    prefix: str = DEFAULT_PREFIX

    def __post_init__(self) -> None:
        """Refuse a prefix that is not one subject token."""
        check_token(self.prefix, "bus prefix")

    @property
    def events_stream(self) -> str:
        """Return the JetStream stream holding every site's ledger events."""
        return f"{self.prefix.upper()}_EVENTS"

    @property
    def commands_stream(self) -> str:
        """Return the JetStream stream holding commands for the edges."""
        return f"{self.prefix.upper()}_COMMANDS"

    @property
    def central_durable(self) -> str:
        """Return the durable consumer every central node shares (each message to one node)."""
        return "central"

    def edge_durable(self, node_id: str) -> str:
        """Return the durable consumer of one edge node's commands."""
        return f"edge-{check_token(node_id, 'node id')}"

    def events(self, site_id: str) -> str:
        """Return the subject a site's ledger events are published on."""
        return f"{self.prefix}.{check_token(site_id, 'site id')}.events"

    def commands(self, site_id: str) -> str:
        """Return the subject commands for a site's edges are published on."""
        return f"{self.prefix}.{check_token(site_id, 'site id')}.commands"

    def status(self, site_id: str) -> str:
        """Return the subject a site's edges send heartbeats on (plain NATS, not stored)."""
        return f"{self.prefix}.{check_token(site_id, 'site id')}.status"

    @property
    def all_events(self) -> str:
        """Return the wildcard of every site's events."""
        return f"{self.prefix}.*.events"

    @property
    def all_commands(self) -> str:
        """Return the wildcard of every site's commands."""
        return f"{self.prefix}.*.commands"

    @property
    def all_status(self) -> str:
        """Return the wildcard of every site's heartbeats."""
        return f"{self.prefix}.*.status"

    @property
    def live(self) -> str:
        """Return the subject central nodes tell each other what they handled (plain NATS)."""
        return f"{self.prefix}.live"

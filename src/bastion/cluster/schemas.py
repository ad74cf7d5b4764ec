"""What the cluster API answers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from bastion.cluster.status import ChainCheck, NodeStatus


class NodeRead(BaseModel):
    """One node: role, site, connection, what it holds and how far behind the central side is."""

    node_id: str
    role: str = Field(description="edge or central.")
    site_id: str | None
    connected: bool = Field(description="Heard from within the last few seconds.")
    head_seq: int = Field(description="Newest row in the edge's own ledger.")
    acked_seq: int = Field(description="Newest row the stream has acknowledged.")
    received_seq: int = Field(description="Newest row stored centrally.")
    backlog: int = Field(description="Rows waiting on the edge for the bus.")
    lag: int = Field(description="Rows not yet in the central ledger.")
    commands_applied: int
    last_command_ms: float | None = Field(description="Issue-to-applied time of the last command.")
    rejected: int = Field(description="Unreadable messages refused.")
    problem: str | None
    last_seen_at: datetime | None
    last_event_at: datetime | None

    @classmethod
    def of(cls, status: NodeStatus) -> NodeRead:
        """Return the API view of a node's status."""
        return cls(**status.__dict__)


class ChainRead(BaseModel):
    """The outcome of re-checking one edge's replicated chain."""

    node_id: str
    ok: bool
    rows_checked: int
    bad_seq: int | None
    problem: str
    summary: str

    @classmethod
    def of(cls, check: ChainCheck) -> ChainRead:
        """Return the API view of a chain check."""
        return cls(**check.__dict__, summary=check.describe())

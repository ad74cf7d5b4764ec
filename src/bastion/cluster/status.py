"""Read the cluster's state for people: nodes, lag, backlog; re-check each edge's chain."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from bastion.cluster.models import ClusterEvent, ClusterNode
from bastion.store.db import Database
from bastion.store.ledger import GENESIS, row_digest

CONNECTED_WITHIN_S = 5.0


@dataclass(frozen=True)
class NodeStatus:
    """One node as the central side sees it."""

    node_id: str
    role: str
    site_id: str | None
    connected: bool
    head_seq: int
    acked_seq: int
    received_seq: int
    backlog: int
    """Rows the edge holds that the stream has not acknowledged yet (waiting on the edge)."""
    lag: int
    """Rows the edge holds that are not in the central ledger yet."""
    commands_applied: int
    last_command_ms: float | None
    rejected: int
    problem: str | None
    last_seen_at: datetime | None
    last_event_at: datetime | None


def node_status(
    db: Database, *, sites: Collection[str] | None = None, now: datetime | None = None
) -> list[NodeStatus]:
    """Return every node (only edges of ``sites`` when given; central nodes always), by id."""
    now = now or datetime.now(UTC)
    with db.sessions() as session:
        rows = list(session.execute(select(ClusterNode).order_by(ClusterNode.node_id)).scalars())
    result = []
    for row in rows:
        if sites is not None and row.role == "edge" and row.site_id not in sites:
            continue
        seen = row.last_seen_at
        connected = seen is not None and (now - seen).total_seconds() <= CONNECTED_WITHIN_S
        head = max(row.head_seq, row.last_seq)
        result.append(
            NodeStatus(
                node_id=row.node_id,
                role=row.role,
                site_id=row.site_id,
                connected=connected,
                head_seq=head,
                acked_seq=row.acked_seq,
                received_seq=row.last_seq,
                backlog=max(0, head - row.acked_seq) if row.role == "edge" else 0,
                lag=max(0, head - row.last_seq) if row.role == "edge" else 0,
                commands_applied=row.commands_applied,
                last_command_ms=row.last_command_ms,
                rejected=row.rejected,
                problem=row.problem,
                last_seen_at=seen,
                last_event_at=row.last_event_at,
            )
        )
    return result


@dataclass(frozen=True)
class ChainCheck:
    """The outcome of re-computing one edge's replicated chain."""

    node_id: str
    ok: bool
    rows_checked: int
    bad_seq: int | None = None
    problem: str = ""

    def describe(self) -> str:
        """Return one line for people."""
        if self.ok:
            return f"{self.node_id}: chain intact, {self.rows_checked} rows"
        return f"{self.node_id}: chain BROKEN at seq {self.bad_seq}: {self.problem}"


def verify_node(db: Database, node_id: str, *, chunk: int = 5000) -> ChainCheck:
    """Recompute an edge's replicated chain from seq 1: gaps, broken links, changed rows."""
    expected, prev, checked = 1, GENESIS, 0
    while True:
        with db.sessions() as session:
            rows = list(
                session.execute(
                    select(ClusterEvent)
                    .where(ClusterEvent.node_id == node_id, ClusterEvent.seq >= expected)
                    .order_by(ClusterEvent.seq)
                    .limit(chunk)
                ).scalars()
            )
        if not rows:
            return ChainCheck(node_id, True, checked)
        for row in rows:
            if row.seq != expected:
                return ChainCheck(node_id, False, checked, expected, "rows are missing")
            if row.prev_hash != prev:
                return ChainCheck(node_id, False, checked, row.seq, "link to the previous row")
            digest = row_digest(
                seq=row.seq,
                prev_hash=row.prev_hash,
                id=row.id,
                type=row.type,
                time=row.time,
                site=row.site,
                subject=row.subject,
                device=row.device,
                context_id=row.context_id,
                parent_id=row.parent_id,
                actor=row.actor,
                payload=row.payload,
            )
            if digest != row.hash:
                return ChainCheck(node_id, False, checked, row.seq, "content was changed")
            prev, expected, checked = row.hash, expected + 1, checked + 1

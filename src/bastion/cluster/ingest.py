"""The central side's database work: store replicated rows in order, once; note heartbeats.

``store_batch`` takes rows from any edges in any order and, in one transaction, keeps
for each edge exactly the rows that continue its chain: the next sequence number is
stored, one already stored is a duplicate (a re-publish after a crash or reconnect),
one beyond the next is early (an earlier one is still on its way: the caller hands it
back to the stream to be delivered again). The edge's row is locked first, so two
central nodes pulling the same consumer agree on what is next.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bastion.cluster.models import ClusterEvent, ClusterNode
from bastion.cluster.wire import Heartbeat, ReplicatedEvent
from bastion.store.db import Database
from bastion.store.ledger import GENESIS

Outcome = Literal["stored", "duplicate", "early"]


@dataclass
class BatchResult:
    """What happened to each row of a batch, in the order given."""

    outcomes: list[Outcome] = field(default_factory=list)
    stored: list[ReplicatedEvent] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        """Return how many rows had ``outcome``."""
        return sum(1 for o in self.outcomes if o == outcome)


def _upsert(session: Session) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _ensure_nodes(session: Session, nodes: dict[str, str | None], role: str) -> None:
    """Create the rows of nodes not seen before (a no-op for those that exist)."""
    if not nodes:
        return
    stmt = _upsert(session)(ClusterNode).values(
        [
            {
                "node_id": node_id,
                "role": role,
                "site_id": site_id,
                "last_seq": 0,
                "last_hash": GENESIS,
                "head_seq": 0,
                "acked_seq": 0,
                "commands_applied": 0,
                "rejected": 0,
            }
            for node_id, site_id in sorted(nodes.items())
        ]
    )
    session.execute(stmt.on_conflict_do_nothing(index_elements=["node_id"]))


def store_batch(db: Database, events: Sequence[ReplicatedEvent]) -> BatchResult:
    """Store the rows that continue each edge's chain; classify every row (see module)."""
    by_node: dict[str, list[int]] = defaultdict(list)
    for index, event in enumerate(events):
        by_node[event.node].append(index)
    outcomes: list[Outcome] = ["early"] * len(events)
    stored: list[ReplicatedEvent] = []
    now = datetime.now(UTC)
    with db.unit_of_work() as session:
        _ensure_nodes(session, {n: events[i[0]].site for n, i in by_node.items()}, "edge")
        # Lock in a fixed order so two central nodes never deadlock on each other.
        rows = session.execute(
            select(ClusterNode)
            .where(ClusterNode.node_id.in_(sorted(by_node)))
            .order_by(ClusterNode.node_id)
            .with_for_update()
        ).scalars()
        nodes = {row.node_id: row for row in rows}
        inserts: list[tuple[Any, ...]] = []
        for node_id, indexes in by_node.items():
            node = nodes[node_id]
            expected, prev, problem = node.last_seq + 1, node.last_hash, None
            for index in sorted(indexes, key=lambda i: events[i].seq):
                event = events[index]
                if event.seq < expected:
                    outcomes[index] = "duplicate"
                    continue
                if event.seq > expected:
                    continue  # early: an earlier row has not arrived yet
                if event.prev != prev or event.digest() != event.hash:
                    problem = problem or f"chain does not verify at seq {event.seq}"
                inserts.append(_row(event, now))
                stored.append(event)
                outcomes[index] = "stored"
                expected, prev = expected + 1, event.hash
            if expected - 1 != node.last_seq or problem:
                session.execute(
                    update(ClusterNode)
                    .where(ClusterNode.node_id == node_id)
                    .values(
                        last_seq=expected - 1,
                        last_hash=prev,
                        last_event_at=now,
                        **({"problem": problem[:300]} if problem else {}),
                    )
                )
        if inserts:
            _insert(session, inserts)
    return BatchResult(outcomes, stored)


_COLUMNS = (
    "node_id", "seq", "id", "type", "time", "site", "subject", "device", "context_id",
    "parent_id", "actor", "payload", "prev_hash", "hash", "received_at",
)  # fmt: skip


def _insert(session: Session, rows: list[tuple[Any, ...]]) -> None:
    """Insert the rows; on PostgreSQL with COPY (several times cheaper than a multi-row insert)."""
    if session.get_bind().dialect.name != "postgresql":
        session.execute(
            insert(ClusterEvent), [dict(zip(_COLUMNS, row, strict=True)) for row in rows]
        )
        return
    driver = session.connection().connection.driver_connection
    statement = f"COPY cluster_events ({', '.join(_COLUMNS)}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        for row in rows:
            copy.write_row(row)


def _row(event: ReplicatedEvent, now: datetime) -> tuple[Any, ...]:
    """Return the row's values in ``_COLUMNS`` order (tuples: COPY takes them as they are)."""
    return (
        event.node,
        event.seq,
        event.id,
        event.type,
        event.time,
        event.site,
        event.subject,
        event.device,
        event.ctx,
        event.parent,
        event.actor,
        event.payload,
        event.prev,
        event.hash,
        now,
    )


def record_heartbeats(db: Database, beats: Iterable[Heartbeat]) -> None:
    """Note what each edge says it holds (newest heartbeat per node wins)."""
    latest: dict[str, Heartbeat] = {}
    for beat in beats:
        if beat.node not in latest or beat.sent_at >= latest[beat.node].sent_at:
            latest[beat.node] = beat
    if not latest:
        return
    with db.unit_of_work() as session:
        _ensure_nodes(session, {n: b.site_id for n, b in latest.items()}, "edge")
        for node_id, beat in sorted(latest.items()):
            session.execute(
                update(ClusterNode)
                .where(ClusterNode.node_id == node_id)
                .values(
                    site_id=beat.site_id,
                    head_seq=beat.head_seq,
                    acked_seq=beat.acked_seq,
                    commands_applied=beat.commands_applied,
                    last_command_ms=beat.last_command_ms,
                    last_seen_at=datetime.fromtimestamp(beat.sent_at, UTC),
                )
            )


def record_central(db: Database, node_id: str, *, now: datetime | None = None) -> None:
    """Note that a central node is alive."""
    with db.unit_of_work() as session:
        _ensure_nodes(session, {node_id: None}, "central")
        session.execute(
            update(ClusterNode)
            .where(ClusterNode.node_id == node_id)
            .values(last_seen_at=now or datetime.now(UTC))
        )


def note_rejected(db: Database, node_id: str | None, reason: str) -> None:
    """Count a message that could not be read (kept on the node it claims, if any)."""
    if node_id is None:
        return
    with db.unit_of_work() as session:
        _ensure_nodes(session, {node_id: None}, "edge")
        node = session.get(ClusterNode, node_id)
        if node is not None:
            node.rejected += 1
            node.problem = reason[:300]

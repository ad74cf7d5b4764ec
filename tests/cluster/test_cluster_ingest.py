"""The central side's ordering and deduplication, on the test database (SQLite or PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bastion.cluster import ingest
from bastion.cluster.edge import read_rows
from bastion.cluster.models import ClusterEvent
from bastion.cluster.status import node_status, verify_node
from bastion.cluster.wire import Heartbeat, ReplicatedEvent, decode, encode
from bastion.core.errors import InvalidInput
from bastion.store.db import Database
from tests.cluster.conftest import EdgeStore


def _count(db: Database) -> int:
    with db.sessions() as session:
        return int(session.execute(select(func.count()).select_from(ClusterEvent)).scalar_one())


async def test_rows_are_stored_in_order_once_and_early_ones_wait(
    database: Database, edge_store: EdgeStore
) -> None:
    await edge_store.record(6)
    rows = read_rows(edge_store.db, "edge-a", 0, 100)
    first = ingest.store_batch(database, [rows[1], rows[0], rows[3]])
    assert first.outcomes == ["stored", "stored", "early"]
    again = ingest.store_batch(database, [rows[0], rows[1], rows[2], rows[3], rows[5]])
    assert again.outcomes == ["duplicate", "duplicate", "stored", "stored", "early"]
    ingest.store_batch(database, [rows[5], rows[4]])
    assert _count(database) == 6
    assert verify_node(database, "edge-a").ok
    (node,) = node_status(database)
    assert (node.node_id, node.received_seq, node.lag) == ("edge-a", 6, 0)


async def test_a_changed_row_is_kept_as_evidence_and_the_chain_check_names_it(
    database: Database, edge_store: EdgeStore
) -> None:
    await edge_store.record(3)
    rows = read_rows(edge_store.db, "edge-a", 0, 100)
    forged = rows[1].model_copy(update={"payload": '{"action":"forged","detail":{},"target":"x"}'})
    ingest.store_batch(database, [rows[0], forged, rows[2]])
    check = verify_node(database, "edge-a")
    assert not check.ok and check.bad_seq == 2 and "changed" in check.problem
    (node,) = node_status(database)
    assert node.problem == "chain does not verify at seq 2"


async def test_two_edges_keep_separate_chains(database: Database, edge_store: EdgeStore) -> None:
    await edge_store.record(4)
    rows = read_rows(edge_store.db, "edge-a", 0, 100)
    other = [r.model_copy(update={"node": "edge-b"}) for r in rows]
    other[2] = other[2].model_copy(update={"actor": "someone else"})
    ingest.store_batch(database, rows + other)
    # edge-b's third row was changed on the way: its chain breaks there, edge-a's is intact.
    assert verify_node(database, "edge-a").ok
    assert verify_node(database, "edge-b").bad_seq == 3
    assert [n.received_seq for n in node_status(database)] == [4, 4]


def test_heartbeats_set_head_and_backlog_and_status_filters_by_site(database: Database) -> None:
    beat = Heartbeat(node="edge-a", site_id="lab", head_seq=40, acked_seq=30, sent_at=1e9)
    ingest.record_heartbeats(database, [beat])
    ingest.record_heartbeats(
        database, [Heartbeat(node="edge-b", site_id="other", head_seq=1, acked_seq=1, sent_at=1e9)]
    )
    ingest.record_central(database, "central-1")
    (edge,) = [n for n in node_status(database, sites={"lab"}) if n.role == "edge"]
    assert (edge.head_seq, edge.backlog, edge.lag, edge.connected) == (40, 10, 40, False)
    assert {n.node_id for n in node_status(database, sites={"lab"})} == {"edge-a", "central-1"}


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not json",
        b"[]",
        b'{"node":"a b","seq":1}',
        encode(Heartbeat(node="a", site_id="s", head_seq=1, acked_seq=1, sent_at=0)),
    ],
)
def test_unreadable_messages_are_refused_with_a_reason(data: bytes) -> None:
    with pytest.raises(InvalidInput, match="bad ReplicatedEvent message"):
        decode(ReplicatedEvent, data)


async def test_rows_read_for_the_bus_keep_each_event_time_exactly(edge_store: EdgeStore) -> None:
    """The edge parses stored times itself on SQLite; a microsecond off would break the chain."""
    events = await edge_store.record(5)
    rows = read_rows(edge_store.db, "edge-a", 0, 100, sent_at=12.5)
    assert [row.time for row in rows] == [event.time for event in events]
    assert all(row.time.utcoffset() == timedelta(0) for row in rows)
    assert all(row.digest() == row.hash and row.sent_at == 12.5 for row in rows)
    decoded = decode(ReplicatedEvent, encode(rows[0]))
    assert decoded == rows[0]

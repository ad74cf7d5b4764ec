"""The cluster API: what each caller sees, and that one site's operator cannot see another's edges."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from bastion.auth.permissions import Role
from bastion.cluster import ingest
from bastion.cluster.edge import read_rows
from bastion.cluster.wire import Heartbeat
from bastion.hub import Hub
from bastion.site.loader import load_site_file
from tests.cluster.conftest import EdgeStore
from tests.conftest import EXAMPLES, ClientFor

CULTIVATION = "cultivation-main"
DISPENSARY = "dispensary-main"


@pytest.fixture
def two_sites(site_hub: Hub, edge_store: EdgeStore) -> Hub:
    """Both example sites loaded; one edge at each, one central node."""
    cultivation = load_site_file(EXAMPLES / "cultivation.yaml")
    site_hub.extras["sites"][CULTIVATION] = cultivation
    beat(site_hub)
    return site_hub


def beat(hub: Hub) -> None:
    """Send both edges' heartbeats at the hub's (frozen) now: connected however slow the test."""
    now = hub.clock.now().timestamp()
    ingest.record_heartbeats(
        hub.db,
        [
            Heartbeat(node="edge-grow", site_id=CULTIVATION, head_seq=12, acked_seq=9, sent_at=now),
            Heartbeat(node="edge-shop", site_id=DISPENSARY, head_seq=3, acked_seq=3, sent_at=now),
        ],
    )
    ingest.record_central(hub.db, "central-1", now=hub.clock.now())


async def test_a_site_operator_sees_only_their_sites_edges(
    two_sites: Hub, client_for: ClientFor
) -> None:
    operator = client_for(Role.OPERATOR, site_id=CULTIVATION)
    beat(two_sites)
    nodes = operator.get("/api/cluster/nodes").json()
    assert {n["node_id"] for n in nodes} == {"edge-grow", "central-1"}
    (grow,) = [n for n in nodes if n["node_id"] == "edge-grow"]
    assert (grow["connected"], grow["backlog"], grow["lag"]) == (True, 3, 12)
    assert operator.get(f"/api/sites/{CULTIVATION}/cluster/nodes").status_code == 200
    assert operator.get(f"/api/sites/{DISPENSARY}/cluster/nodes").status_code == 403
    admin = client_for(Role.ADMIN)
    assert {n["node_id"] for n in admin.get("/api/cluster/nodes").json()} == {
        "edge-grow",
        "edge-shop",
        "central-1",
    }


async def test_chain_checks_per_edge_need_ledger_verify_at_that_site(
    two_sites: Hub, edge_store: EdgeStore, client_for: ClientFor
) -> None:
    await edge_store.record(5, site=CULTIVATION)
    ingest.store_batch(two_sites.db, read_rows(edge_store.db, "edge-grow", 0, 100))
    auditor = client_for(Role.AUDITOR, site_id=CULTIVATION)
    (check,) = auditor.get(f"/api/sites/{CULTIVATION}/cluster/verify").json()
    assert (check["node_id"], check["ok"], check["rows_checked"]) == ("edge-grow", True, 5)
    assert auditor.get(f"/api/sites/{DISPENSARY}/cluster/verify").status_code == 403
    operator = client_for(Role.OPERATOR, site_id=CULTIVATION)
    assert operator.get(f"/api/sites/{CULTIVATION}/cluster/verify").status_code == 403


def test_an_unknown_site_is_a_plain_not_found(two_sites: Hub, client_for: ClientFor) -> None:
    admin: TestClient = client_for(Role.ADMIN)
    reply = admin.get("/api/sites/nowhere/cluster/nodes")
    assert reply.status_code == 404


async def test_the_console_page_shows_own_sites_edges_by_site_name(
    two_sites: Hub, client_for: ClientFor
) -> None:
    operator = client_for(Role.OPERATOR, site_id=CULTIVATION)
    beat(two_sites)
    html = operator.get("/console/cluster").text
    assert 'id="node-edge-grow"' in html and "edge-shop" not in html
    assert two_sites.extras["sites"][CULTIVATION].site.name in html
    assert "connected" in html and "central-1" in html
    assert 'href="/console/cluster"' in html

"""Fault tests, each bounded in time: an edge killed -9 again and again during a card-read storm.

Every decision the edge committed to its own ledger must end up in the central
ledger exactly once, in order, with both chains verifying.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import time
from pathlib import Path

import nats
from sqlalchemy import func, select

from bastion.cluster.bus import ensure_streams
from bastion.cluster.central import CentralNode
from bastion.cluster.edge import Replicator, head_seq
from bastion.cluster.models import ClusterEvent
from bastion.cluster.names import Names
from bastion.cluster.status import verify_node
from bastion.store.db import Database
from bastion.store.ledger import Ledger
from tests.cluster.conftest import close, wait_for

ROOT = Path(__file__).resolve().parents[2]
KILLS = int(os.environ.get("BASTION_CLUSTER_KILLS", "5"))


def _central_rows(db: Database) -> tuple[int, int, int]:
    with db.sessions() as session:
        count, low, high = session.execute(
            select(func.count(), func.min(ClusterEvent.seq), func.max(ClusterEvent.seq)).where(
                ClusterEvent.node_id == "edge-k"
            )
        ).one()
    return int(count), int(low or 0), int(high or 0)


async def test_an_edge_killed_repeatedly_loses_and_doubles_nothing(
    nats_url: str, names: Names, database: Database, tmp_path: Path
) -> None:
    edge_db_path = tmp_path / "edge.db"
    edge_db = Database(f"sqlite:///{edge_db_path}")
    edge_db.migrate()
    central = CentralNode(database, url=nats_url, node_id="central-1", names=names)
    central.start()
    await asyncio.wait_for(central.ready.wait(), 60)
    rng = random.Random(20)
    for _ in range(KILLS):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.cluster.storm_edge",
            str(edge_db_path),
            nats_url,
            names.prefix,
            "edge-k",
            cwd=ROOT,
        )
        before = head_seq(edge_db)
        deadline = time.monotonic() + 120
        # Let it start and record something, then kill it at a random moment.
        while head_seq(edge_db) <= before and process.returncode is None:
            assert time.monotonic() < deadline, "the storm edge did not start"
            await asyncio.sleep(0.1)
        await asyncio.sleep(rng.uniform(0.05, 1.5))
        process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(process.wait(), 30)
    committed = head_seq(edge_db)
    assert committed > 0
    # The edge comes back one last time and catches up.
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js, names)
    replicator = Replicator(edge_db, js, names, node_id="edge-k", site_id="lab")
    task = asyncio.create_task(replicator.run())
    await wait_for(
        lambda: asyncio.to_thread(lambda: _central_rows(database)[0] >= committed), within=180
    )
    await asyncio.sleep(0.5)
    assert _central_rows(database) == (committed, 1, committed)
    assert verify_node(database, "edge-k").ok
    print(f"kills={KILLS} committed={committed} central={committed} dupes=0", end=" ")
    edge_ledger = Ledger(edge_db)
    assert edge_ledger.verify().ok
    edge_ledger.close()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await close(nc)
    await central.stop()
    edge_db.dispose()

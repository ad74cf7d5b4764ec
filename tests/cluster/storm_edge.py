"""A stand-in edge process for the kill tests: card reads decided and recorded, replicated.

Run as ``python -m tests.cluster.storm_edge DB_PATH NATS_URL PREFIX NODE``. It appends
access decisions to its own SQLite ledger as fast as it can (a decision counts once it
is committed there, as on a real edge) while the replicator sends them up; it never
stops by itself and is meant to be killed.
"""

from __future__ import annotations

import asyncio
import random
import sys

import nats

from bastion.cluster.bus import ensure_streams
from bastion.cluster.edge import Replicator
from bastion.cluster.names import Names
from bastion.core.context import Context
from bastion.core.events import EVENT_ACCESS_DECISION, AccessDecisionPayload, make_event
from bastion.store.db import Database
from bastion.store.ledger import Ledger


async def main(path: str, url: str, prefix: str, node: str) -> None:
    db = Database(f"sqlite:///{path}")
    ledger = Ledger(db)
    nc = await nats.connect(url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    js = nc.jetstream()
    names = Names(prefix)
    await ensure_streams(js, names)
    replicator = Replicator(db, js, names, node_id=node, site_id="lab", batch=200)
    task = asyncio.create_task(replicator.run())
    readers = [f"reader-{i}" for i in range(50)]
    while not task.done():
        batch = [
            make_event(
                EVENT_ACCESS_DECISION,
                AccessDecisionPayload(
                    door_id="front",
                    reader_id=random.choice(readers),
                    subject=f"p{random.randrange(500)}",
                    granted=True,
                    reason="granted",
                ),
                context=Context(actor="system:access"),
                site="lab",
            )
            for _ in range(random.randint(1, 20))
        ]
        await ledger.append(batch)
        await asyncio.sleep(0.005)
    task.result()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))

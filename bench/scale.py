"""Benchmark: edge sites replicating card reads through NATS JetStream into PostgreSQL.

Run: .venv/bin/python bench/scale.py [--sites 10] [--readers 50] [--events 3000] [--rate 1000]
Needs the machine's NATS (JetStream, 127.0.0.1:4222) and PostgreSQL (127.0.0.1:5432);
BENCH_DATABASE_URL / BENCH_NATS_URL point elsewhere. A throw-away database and a
stream prefix of its own are created and removed.

Ours, end to end: each of ``--sites`` edges records ``--events`` access decisions from
``--readers`` readers into its own SQLite ledger (hash-chained, as on a real edge; not
timed), then the edges' replicators publish them to JetStream and one central node pulls
them into PostgreSQL, checking every row's chain link and hash, in order and once.
``events_per_s`` is the rows stored centrally per second from the first publish to the
last commit. Then the edges record at ``--rate`` events/s in all for a few seconds while
replicating, and ``p99_ms`` is the 99th percentile of the time from a decision being
recorded on its edge to its row being committed centrally.

Peer: the same rows inserted straight into an equivalent PostgreSQL table with psycopg
``COPY`` (no bus, no checks), in the same run. The edges run in this process and the
central node in a process of its own, as they are deployed. The machine is shared, so
figures vary; a phase that does not finish in time is reported as such.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import multiprocessing
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import nats
import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from ulid import ULID

from bastion.cluster.bus import delete_streams, ensure_streams
from bastion.cluster.central import CentralNode
from bastion.cluster.edge import EdgeNode, Replicator, read_rows
from bastion.cluster.models import ClusterEvent
from bastion.cluster.names import Names
from bastion.cluster.wire import Command, epoch_now
from bastion.core.bus import Bus
from bastion.core.context import Context, new_id
from bastion.core.events import EVENT_ACCESS_DECISION, AccessDecisionPayload, Event, make_event
from bastion.hub import Hub
from bastion.settings import Settings
from bastion.store.db import Database
from bastion.store.ledger import Ledger

PG_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
NATS_URL = os.environ.get("BENCH_NATS_URL", "nats://127.0.0.1:4222")
LIMIT_S = 240.0
console = Console(stderr=True)


def decisions(
    site: str, readers: int, count: int, rng: random.Random
) -> list[Event[AccessDecisionPayload]]:
    """Return ``count`` access decisions at ``site`` from its readers."""
    return [
        make_event(
            EVENT_ACCESS_DECISION,
            AccessDecisionPayload(
                door_id=f"door-{rng.randrange(readers // 2 or 1)}",
                reader_id=f"reader-{rng.randrange(readers)}",
                subject=f"p{rng.randrange(2000)}",
                credential_ref=f"c{rng.randrange(4000)}",
                granted=rng.random() > 0.05,
                reason="granted",
            ),
            context=Context(actor="system:access"),
            site=site,
        )
        for _ in range(count)
    ]


class Edge:
    """One simulated site: its own SQLite ledger and replicator."""

    def __init__(self, folder: Path, index: int) -> None:
        self.folder = folder
        self.site = f"site-{index:02d}"
        self.node = f"edge-{index:02d}"
        folder.mkdir()
        self.db = Database(f"sqlite:///{folder / 'edge.db'}")
        self.db.migrate()
        self.ledger = Ledger(self.db)
        self.task: asyncio.Task[None] | None = None
        self.replicator: Replicator | None = None

    def start(self, js: nats.js.JetStreamContext, names: Names) -> None:
        self.replicator = Replicator(self.db, js, names, node_id=self.node, site_id=self.site)
        replicator = self.replicator
        self.task = asyncio.create_task(replicator.run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        self.ledger.close()
        self.db.dispose()


def stored(db: Database) -> int:
    with db.sessions() as session:
        return int(session.execute(select(func.count()).select_from(ClusterEvent)).scalar_one())


async def wait_stored(db: Database, target: int, limit_s: float) -> float | None:
    """Wait until ``target`` rows are stored; return the moment (monotonic) or None on timeout."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if await asyncio.to_thread(stored, db) >= target:
            return time.monotonic()
        await asyncio.sleep(0.05)
    return None


def p99_ms(db: Database, since: datetime) -> float | None:
    """Return the 99th percentile of central commit time minus edge record time, in ms."""
    with db.sessions() as session:
        value = session.execute(
            text(
                "SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY "
                "extract(epoch FROM received_at - time) * 1000) FROM cluster_events "
                "WHERE time >= :since"
            ),
            {"since": since},
        ).scalar()
    return float(value) if value is not None else None


async def revocation_latency(central: CentralNode, edge: Edge, count: int = 20) -> str:
    """Send revocations to a connected edge; return issue-to-applied p50 and max in ms."""
    hub = Hub(
        settings=Settings(data_dir=edge.folder),
        db=edge.db,
        ledger=edge.ledger,
        bus=Bus(sink=edge.ledger),
    )
    node = EdgeNode(hub, url=NATS_URL, node_id=edge.node, site_id=edge.site, names=central.names)
    node.start()
    await asyncio.wait_for(node.ready.wait(), 60)
    samples = []
    for _ in range(count):
        before = node.stats.commands_applied
        await central.send(
            Command(
                id=new_id(),
                kind="revoke_credential",
                site_id=edge.site,
                issued_at=epoch_now(),
                credential_id=f"c{before}",
            )
        )
        deadline = time.monotonic() + 30
        while node.stats.commands_applied == before and time.monotonic() < deadline:  # noqa: ASYNC110 (polls a counter the edge bumps)
            await asyncio.sleep(0.002)
        if node.stats.last_command_ms is not None and node.stats.commands_applied > before:
            samples.append(node.stats.last_command_ms)
    await node.stop()
    if not samples:
        return "timed out"
    samples.sort()
    return f"{samples[len(samples) // 2]:.1f} / {samples[-1]:.1f} ({len(samples)} sent)"


def central_process(url: str, prefix: str, conn: Connection) -> None:
    """Run one real central node in this (separate) process until the parent says stop.

    Deployed central nodes are processes of their own, apart from the edges; so here.
    Sends "ready" once consuming, then on "stop" sends back the node's counters.
    """
    logging.basicConfig(level=logging.ERROR)

    async def serve() -> dict[str, int]:
        db = Database(url)
        node = CentralNode(db, url=NATS_URL, node_id="central-1", names=Names(prefix=prefix))
        node.start()
        await node.ready.wait()
        conn.send("ready")
        await asyncio.to_thread(conn.recv)
        await node.stop()
        db.dispose()
        return {"duplicates": node.stats.duplicates, "early": node.stats.early}

    conn.send(asyncio.run(serve()))


class CentralProcess:
    """The central node of the benchmark, in a process of its own."""

    def __init__(self, url: str, names: Names) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=central_process, args=(url, names.prefix, child), daemon=True
        )

    async def start(self) -> None:
        self.process.start()
        if not await asyncio.to_thread(self.conn.poll, 120):
            raise RuntimeError("the central node process did not start in time")
        self.conn.recv()

    async def stop(self) -> dict[str, int]:
        """Stop the node; return its counters (empty if it did not answer)."""
        counters: dict[str, int] = {}
        with contextlib.suppress(Exception):
            self.conn.send("stop")
            if await asyncio.to_thread(self.conn.poll, 30):
                counters = self.conn.recv()
        await asyncio.to_thread(self.process.join, 10)
        if self.process.is_alive():
            self.process.kill()
        return counters


def copy_peer(url: str, edges: list[Edge]) -> float:
    """Insert the same rows into an equivalent table with COPY; return rows per second."""
    rows = []
    for edge in edges:
        for row in read_rows(edge.db, edge.node, 0, 10**9):
            rows.append(
                (
                    row.node,
                    row.seq,
                    row.id,
                    row.type,
                    row.time,
                    row.site,
                    row.subject,
                    row.device,
                    row.ctx,
                    row.parent,
                    row.actor,
                    row.payload,
                    row.prev,
                    row.hash,
                    datetime.now(UTC),
                )
            )
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(conninfo) as conn:
        conn.execute("CREATE TABLE copy_peer (LIKE cluster_events INCLUDING ALL)")
        conn.commit()
        start = time.perf_counter()
        with (
            conn.cursor() as cursor,
            cursor.copy(
                "COPY copy_peer (node_id, seq, id, type, time, site, subject, device, "
                "context_id, parent_id, actor, payload, prev_hash, hash, received_at) FROM STDIN"
            ) as copy,
        ):
            for values in rows:
                copy.write_row(values)
        conn.commit()
        elapsed = time.perf_counter() - start
    return len(rows) / elapsed


async def run(
    args: argparse.Namespace,
) -> tuple[float | None, float | None, float | None, dict[str, Any]]:
    rng = random.Random(20261203)
    base = make_url(PG_URL)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"bastion_bench_{str(ULID()).lower()}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(False)
    central_db = Database(url)
    names = Names(prefix=f"bench{str(ULID()).lower()[-8:]}")
    facts: dict[str, Any] = {}
    nc = None
    edges: list[Edge] = []
    central: CentralProcess | None = None
    try:
        central_db.migrate()
        with tempfile.TemporaryDirectory() as folder:
            edges = [Edge(Path(folder) / f"e{i}", i) for i in range(args.sites)]
            for edge in edges:
                await edge.ledger.append(decisions(edge.site, args.readers, args.events, rng))
            total = args.sites * args.events
            nc = await nats.connect(NATS_URL)
            js = nc.jetstream()
            await ensure_streams(js, names)
            central = CentralProcess(url, names)
            await central.start()
            start = time.monotonic()
            for edge in edges:
                edge.start(js, names)
            end = await wait_stored(central_db, total, LIMIT_S)
            ours = total / (end - start) if end is not None else None
            facts["flood_rows"] = total
            facts["flood_s"] = round(end - start, 2) if end is not None else "timed out"
            # Paced phase: record at --rate while replicating; latency from record to commit.
            since = datetime.now(UTC)
            per_tick = max(1, int(args.rate * 0.05 / len(edges)))
            paced = 0
            phase_end = time.monotonic() + args.paced_s
            while time.monotonic() < phase_end:
                tick = time.monotonic()
                for edge in edges:
                    await edge.ledger.append(decisions(edge.site, args.readers, per_tick, rng))
                paced += per_tick * len(edges)
                await asyncio.sleep(max(0.0, 0.05 - (time.monotonic() - tick)))
            done = await wait_stored(central_db, total + paced, LIMIT_S)
            latency = p99_ms(central_db, since) if done is not None else None
            facts["paced_rows"] = paced
            facts["paced_rate"] = round(paced / args.paced_s)
            counters = await central.stop()
            central = None
            facts["duplicates_seen"] = counters.get("duplicates", "?")
            facts["early_redelivered"] = counters.get("early", "?")
            facts["published"] = sum(e.replicator.stats.published for e in edges if e.replicator)
            for edge in edges:
                if edge.task is not None:
                    edge.task.cancel()
            # Commands go down from a central node in this process (nothing is left to consume).
            sender = CentralNode(central_db, url=NATS_URL, node_id="central-2", names=names)
            sender.start()
            try:
                await asyncio.wait_for(sender.ready.wait(), 60)
                facts["revocation_ms_p50_max"] = await revocation_latency(sender, edges[0])
            finally:
                await sender.stop()
            peer = await asyncio.to_thread(copy_peer, url, edges)
            facts["copy_rows"] = total + paced
            return ours, latency, peer, facts
    finally:
        if central is not None:
            await central.stop()
        for edge in edges:
            with contextlib.suppress(Exception):
                await edge.stop()
        if nc is not None:
            with contextlib.suppress(Exception):
                await delete_streams(nc.jetstream(), names)
            await nc.close()
        central_db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=10)
    parser.add_argument("--readers", type=int, default=50)
    parser.add_argument("--events", type=int, default=3000, help="per site, flood phase")
    parser.add_argument("--rate", type=float, default=1000.0, help="events/s in all, paced phase")
    parser.add_argument("--paced-s", type=float, default=5.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    try:
        ours, latency, peer, facts = asyncio.run(run(args))
    except Exception as exc:  # a busy or missing service: report, never crash
        print(f"SCALE events_per_s=error p99_ms=error copy_events_per_s=error ({exc})")
        sys.exit(0)
    table = Table("measure", "value")
    for key, value in facts.items():
        table.add_row(key, str(value))
    console.print(table)

    def show(value: float | None, digits: int = 0) -> str:
        return "timed_out" if value is None else f"{value:.{digits}f}"

    print(
        f"SCALE events_per_s={show(ours)} p99_ms={show(latency, 1)} copy_events_per_s={show(peer)}"
    )


if __name__ == "__main__":
    main()

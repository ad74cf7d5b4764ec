"""Fault test: the central side's own PostgreSQL stops; central nodes hold in JetStream, lose nothing.

A private PostgreSQL cluster is started for the test (never the machine's shared one),
as the ``postgres`` system user when the tests run as root.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bastion.cluster.central import CentralNode
from bastion.cluster.models import ClusterEvent
from bastion.cluster.names import Names
from bastion.cluster.status import verify_node
from bastion.store.db import Database
from tests.cluster.conftest import EdgeStore, free_port, wait_for
from tests.cluster.test_cluster_nats import _edge, _stop
from tests.conftest import service_missing

OUTAGE_S = 60.0


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of this test alone."""

    folder: Path
    port: int
    bin: Path

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        self._run("initdb", "-D", str(self.folder / "data"), "-A", "trust", "-U", "postgres")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        self._run(
            "pg_ctl",
            "-D",
            str(self.folder / "data"),
            "-o",
            options,
            "-w",
            "-l",
            str(self.folder / "log"),
            "start",
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """Start a private PostgreSQL cluster on a free port; stop and remove it after."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        service_missing("PostgreSQL server binaries (initdb) are not installed")
    # Not under pytest's temporary root: the postgres user could not reach into it.
    folder = Path(tempfile.mkdtemp(prefix="bastion-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    server = PrivatePostgres(folder, free_port(), Path(found[-1]).parent)
    server.init()
    server.start()
    yield server
    with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
        server.stop()
    shutil.rmtree(folder, ignore_errors=True)


def _count(db: Database) -> int:
    with db.sessions() as session:
        return int(session.execute(select(func.count()).select_from(ClusterEvent)).scalar_one())


async def test_central_holds_in_the_stream_while_its_database_is_down(
    private_postgres: PrivatePostgres, nats_url: str, names: Names, edge_store: EdgeStore
) -> None:
    db = Database(private_postgres.url)
    db.migrate()
    central = CentralNode(db, url=nats_url, node_id="central-1", names=names)
    central.start()
    nc, task, _ = await _edge(nats_url, names, edge_store)
    await edge_store.record(100)
    await wait_for(lambda: asyncio.to_thread(lambda: _count(db) == 100))
    await asyncio.to_thread(private_postgres.stop)
    # The database stays away for OUTAGE_S (as the issue asks); the edge goes on and its
    # rows reach the stream, not the database.
    batches = 0
    until = time.monotonic() + OUTAGE_S
    while time.monotonic() < until:
        await edge_store.record(10)
        batches += 1
        await asyncio.sleep(2.0)
    await wait_for(lambda: asyncio.sleep(0, central.stats.database_down))
    assert central.stats.stored == 100
    await asyncio.to_thread(private_postgres.start)
    total = 100 + 10 * batches
    await wait_for(lambda: asyncio.to_thread(lambda: _count(db) == total), within=120)
    assert not central.stats.database_down
    assert verify_node(db, "edge-a").ok
    await _stop(task, nc)
    await central.stop()
    db.dispose()

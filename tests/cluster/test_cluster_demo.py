"""The multi-site demo as a user runs it: three edge processes, two central nodes, one stop.

Needs PostgreSQL (``BASTION_TEST_DATABASE_URL`` or 127.0.0.1:5432) for the central side
and the machine's NATS; skipped without them, failed when CI requires services.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import nats
import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from ulid import ULID

from bastion.cluster.bus import delete_streams
from bastion.cluster.names import Names
from bastion.cluster.status import verify_node
from bastion.store.db import Database
from tests.cluster.conftest import free_port
from tests.conftest import service_missing

pytestmark = pytest.mark.slow

PG_SERVER = os.environ.get(
    "BASTION_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SITES = ("store-1", "store-2", "store-3")


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def demo_database(nats_url: str) -> Iterator[str]:
    """Return the URL of a database no other test uses (the demo creates it); drop it after."""
    server = make_url(PG_SERVER)
    if not _answers(server.host or "127.0.0.1", server.port or 5432):
        service_missing(f"PostgreSQL is not running at {server.host}:{server.port}")
    name = f"bastion_demo_{str(ULID()).lower()}"
    yield server.set(database=name).render_as_string(hide_password=False)
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _base_port() -> int:
    """Return a port p with p, p+1 and p+10.. p+12 all free (the demo's consoles)."""
    for _ in range(50):
        port = free_port()
        if port + 12 < 65535 and not any(
            _answers("127.0.0.1", port + offset) for offset in (0, 1, 10, 11, 12)
        ):
            return port
    raise AssertionError("no free ports for the demo")


def _per_node(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if not conn.execute(text("SELECT to_regclass('cluster_events')")).scalar():
                return {}
            rows = conn.execute(
                text("SELECT node_id, count(*) FROM cluster_events GROUP BY node_id")
            ).all()
            return {str(node): int(count) for node, count in rows}
    except Exception:
        return {}  # the demo is still creating the database
    finally:
        engine.dispose()


def test_the_demo_runs_three_edge_sites_into_the_central_ledger_and_stops_cleanly(
    tmp_path: Path, nats_url: str, demo_database: str
) -> None:
    prefix = f"t{str(ULID()).lower()[-12:]}"
    port = _base_port()
    log = tmp_path / "demo.log"
    command = [sys.executable, "-m", "bastion", "cluster", "demo", "--sites", "3"]
    command += ["--data-dir", str(tmp_path / "demo"), "--port", str(port), "--prefix", prefix]
    command += ["--database-url", demo_database, "--bus", nats_url]
    env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_BUS")}
    with log.open("wb") as out:
        demo = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 200
        counts: dict[str, int] = {}
        while not all(counts.get(f"edge-{site}", 0) > 0 for site in SITES):
            assert demo.poll() is None, log.read_text()[-4000:]
            assert time.monotonic() < deadline, f"{counts}\n{log.read_text()[-4000:]}"
            time.sleep(1.0)
            counts = _per_node(demo_database)
        # Both central consoles answer while the edges replicate.
        for offset in (0, 1):
            reply = httpx.get(f"http://127.0.0.1:{port + offset}/api/health", timeout=5)
            assert reply.status_code == 200
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=120) == 0, log.read_text()[-4000:]
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait(timeout=30)
        asyncio.run(_delete_streams(nats_url, prefix))
    output = log.read_text()
    assert "demo stopped" in output
    for name in ("central-1", "central-2", *(f"edge-{site}" for site in SITES)):
        assert f"{name}" in output and "exit 0" in output.split(name)[-1].splitlines()[0]
    # Every node is gone: nothing listens on the demo's ports any more.
    assert not any(_answers("127.0.0.1", port + offset) for offset in (0, 1, 10, 11, 12))
    # Each site's replicated chain verifies on its own.
    db = Database(demo_database)
    try:
        for site in SITES:
            check = verify_node(db, f"edge-{site}")
            assert check.ok, check.describe()
    finally:
        db.dispose()


async def _delete_streams(url: str, prefix: str) -> None:
    nc = await asyncio.wait_for(nats.connect(url), 30)
    try:
        await asyncio.wait_for(delete_streams(nc.jetstream(), Names(prefix)), 30)
    finally:
        await asyncio.wait_for(nc.close(), 10)

"""Fixtures for the cluster suites: the machine's NATS, a private NATS, an edge node's database."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from ulid import ULID

from bastion.cluster.bus import delete_streams
from bastion.cluster.names import Names
from bastion.core.context import Context
from bastion.core.events import EVENT_ADMIN_ACTION, AdminActionPayload, Event, make_event
from bastion.store.db import Database
from bastion.store.ledger import Ledger
from tests.conftest import service_missing

SHARED_NATS = "nats://127.0.0.1:4222"


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def nats_url() -> str:
    """Return the machine's NATS (JetStream) URL; skip, or fail in CI, when it is not there."""
    if not _answers("127.0.0.1", 4222):
        service_missing("NATS is not running on 127.0.0.1:4222")
    return SHARED_NATS


@pytest.fixture
async def names(nats_url: str) -> AsyncIterator[Names]:
    """Return stream and subject names no other test or node uses; delete the streams after."""
    own = Names(prefix=f"t{str(ULID()).lower()[-12:]}")
    yield own
    nc = await asyncio.wait_for(nats.connect(nats_url), 30)
    try:
        await asyncio.wait_for(delete_streams(nc.jetstream(), own), 30)
    finally:
        await close(nc)


async def close(nc: Client) -> None:
    """Close a NATS connection, giving up after a while (a close can wait on a reconnect)."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(nc.close(), 10)


def free_port() -> int:
    """Return a TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PrivateNats:
    """A nats-server of this test alone (so it may be stopped), JetStream on a temp directory."""

    port: int
    store: Path
    process: subprocess.Popen[bytes] | None = None
    log: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = shutil.which("nats-server")
        assert binary is not None
        self.process = subprocess.Popen(
            [binary, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.store)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while not _answers("127.0.0.1", self.port):
            assert time.monotonic() < deadline, "private nats-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            process.terminate()
            process.wait(timeout=20)


@pytest.fixture
def private_nats(tmp_path: Path) -> Iterator[PrivateNats]:
    """Start a private nats-server with JetStream; stop it after the test."""
    if shutil.which("nats-server") is None:
        service_missing("nats-server is not installed")
    server = PrivateNats(port=free_port(), store=tmp_path / "jetstream")
    server.start()
    yield server
    server.stop()


@dataclass
class EdgeStore:
    """An edge node's own SQLite database and ledger."""

    db: Database
    ledger: Ledger

    async def record(
        self, count: int, *, site: str = "lab", start: int = 0
    ) -> list[Event[AdminActionPayload]]:
        """Append ``count`` events to the edge's ledger; return them."""
        events = [
            make_event(
                EVENT_ADMIN_ACTION,
                AdminActionPayload(action="test.step", target=f"n{start + i}"),
                context=Context(actor="test"),
                site=site,
            )
            for i in range(count)
        ]
        await self.ledger.append(events)
        return events


@pytest.fixture
def edge_store(tmp_path: Path) -> Iterator[EdgeStore]:
    """Return a migrated SQLite database and ledger standing for an edge node's disk."""
    folder = tmp_path / "edge"
    folder.mkdir()
    db = Database(f"sqlite:///{folder / 'edge.db'}")
    db.migrate()
    ledger = Ledger(db)
    yield EdgeStore(db, ledger)
    ledger.close()
    db.dispose()


async def wait_for(check: Callable[[], Awaitable[bool]], *, within: float = 60.0) -> None:
    """Wait until ``check`` holds; fail after ``within`` seconds (a bound, not a measurement)."""
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)

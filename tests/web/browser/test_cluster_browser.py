"""Two central ``bastion serve`` nodes on one PostgreSQL database and the machine's NATS.

A door unlocked through node A's console must show as unlocked on node B's door board
(and a lock through B on A's), because the nodes share live state over the bus. The
nodes are real processes started like an operator would, with ``BASTION_BUS_URL``.
Needs PostgreSQL (``BASTION_TEST_DATABASE_URL`` or 127.0.0.1:5432), NATS on
127.0.0.1:4222 and Chromium: skipped without them, failed when CI requires services.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from ulid import ULID

from tests.conftest import service_missing
from tests.web.browser.browserkit import (
    CHROMIUM,
    CHROMIUM_ARGS,
    free_port,
    require_chromium,
    sign_in,
)

pytestmark = pytest.mark.slow

PG_SERVER = os.environ.get(
    "BASTION_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
NATS_URL = "nats://127.0.0.1:4222"
START_S = 120.0


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def keyring() -> None:
    """The nodes are separate processes with their own key; the suite's key ring is unused."""
    return None


@dataclass
class Node:
    """One running central node."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture
def database_url() -> Iterator[str]:
    """Create a database of this test alone on the PostgreSQL server; drop it after."""
    import psycopg
    from sqlalchemy.engine import make_url

    server = make_url(PG_SERVER)
    if not _answers(server.host or "127.0.0.1", server.port or 5432):
        service_missing(f"PostgreSQL is not running at {server.host}:{server.port}")
    name = f"bastion_cluster_{str(ULID()).lower()}"
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield server.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _prepare(data_dir: Path, database_url: str) -> dict[str, Any]:
    """Load the demo site and accounts into the shared database (a separate process)."""
    script = (
        "import json\n"
        "from bastion.demo import prepare_demo\n"
        "from bastion.settings import Settings\n"
        "info = prepare_demo(Settings())\n"
        "print(json.dumps({'user': info.operator_user, 'password': info.operator_password}))\n"
    )
    env = {**os.environ, "BASTION_DATA_DIR": str(data_dir), "BASTION_DATABASE_URL": database_url}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return dict(json.loads(done.stdout.decode().strip().splitlines()[-1]))


def _start(name: str, data_dir: Path, database_url: str, prefix: str, tmp: Path) -> Node:
    port = free_port()
    log = tmp / f"{name}.log"
    env = {
        **os.environ,
        "BASTION_DATABASE_URL": database_url,
        "BASTION_BUS_URL": NATS_URL,
        "BASTION_BUS_PREFIX": prefix,
        "BASTION_NODE_ID": name,
        "BASTION_COOKIE_SECURE": "false",
    }
    with log.open("wb") as out:
        command = [sys.executable, "-m", "bastion", "serve", "--data-dir", str(data_dir)]
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Node(name=name, url=f"http://127.0.0.1:{port}", process=process, log=log)


def _wait_healthy(node: Node, deadline: float) -> None:
    while True:
        assert node.process.poll() is None, f"{node.name} exited:\n{node.log.read_text()[-3000:]}"
        try:
            if httpx.get(f"{node.url}/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{node.name} did not answer:\n{node.log.read_text()}"
        time.sleep(0.2)


@dataclass
class Cluster:
    """Two central nodes and the operator's credentials."""

    a: Node
    b: Node
    user: str
    password: str


@pytest.fixture
def cluster(tmp_path: Path, database_url: str) -> Iterator[Cluster]:
    """Start two central nodes on one database and a prefix of this test alone on NATS."""
    require_chromium()
    if not _answers("127.0.0.1", 4222):
        service_missing("NATS is not running on 127.0.0.1:4222")
    first, second = tmp_path / "node-a", tmp_path / "node-b"
    account = _prepare(first, database_url)
    shutil.copytree(first, second)  # the same keys: both nodes read the same encrypted rows
    prefix = f"t{str(ULID()).lower()[-12:]}"
    nodes = [
        _start("central-a", first, database_url, prefix, tmp_path),
        _start("central-b", second, database_url, prefix, tmp_path),
    ]
    try:
        deadline = time.monotonic() + START_S
        for node in nodes:
            _wait_healthy(node, deadline)
        yield Cluster(nodes[0], nodes[1], account["user"], account["password"])
    finally:
        for node in nodes:
            node.stop()
        _delete_streams(prefix)


def _delete_streams(prefix: str) -> None:
    import asyncio

    import nats

    from bastion.cluster.bus import delete_streams
    from bastion.cluster.names import Names

    async def run() -> None:
        nc = await asyncio.wait_for(nats.connect(NATS_URL), 30)
        try:
            await asyncio.wait_for(delete_streams(nc.jetstream(), Names(prefix)), 30)
        finally:
            await asyncio.wait_for(nc.close(), 10)

    asyncio.run(run())


@pytest.fixture
def chromium() -> Iterator[Any]:
    """Launch Debian's Chromium headless for this test."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


def _door(page: Any, door: str) -> Any:
    return page.locator(f'#map-holder g.door[data-door="{door}"]')


def _command(page: Any, door: str, button: str, reason: str) -> None:
    _door(page, door).click()
    expect(page.locator("#door-dialog")).to_be_visible()
    page.fill("#door-reason", reason)
    page.click(f'#door-dialog button[data-command="{button}"]')  # window.confirm is accepted
    expect(page.locator("#door-result")).to_contain_text("Recorded in the ledger.")
    page.click('#door-dialog button[value="cancel"]')


def test_a_door_unlocked_through_one_central_node_shows_unlocked_on_the_other(
    cluster: Cluster, chromium: Any
) -> None:
    pages = []
    for node in (cluster.a, cluster.b):
        page = sign_in(chromium, node, cluster.user, cluster.password)
        page.goto("/console/map")
        expect(_door(page, "front-entry")).to_have_attribute("data-state", "locked")
        expect(page.locator("#feed-status")).to_have_text("live")
        pages.append(page)
    on_a, on_b = pages

    _command(on_a, "front-entry", "unlock", "delivery through the front")
    expect(_door(on_a, "front-entry")).to_have_attribute("data-state", "unlocked")
    expect(_door(on_b, "front-entry")).to_have_attribute("data-state", "unlocked", timeout=30000)
    # Only the door that was asked for changed on the other node.
    expect(_door(on_b, "vault-door")).to_have_attribute("data-state", "locked")

    _command(on_b, "front-entry", "lock", "delivery done")
    expect(_door(on_a, "front-entry")).to_have_attribute("data-state", "locked", timeout=30000)

    # A console opened afresh on B (board rebuilt from the ledger) agrees too, and the
    # node processes are both still up.
    on_b.goto("/console/map")
    expect(_door(on_b, "front-entry")).to_have_attribute("data-state", "locked")
    assert cluster.a.process.poll() is None and cluster.b.process.poll() is None
    for page in pages:
        page.context.close()

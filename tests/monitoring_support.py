"""Shared fixtures of the monitoring suites (automation, MQTT, Frigate): site, hub, broker."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from ulid import ULID

from bastion.core.bus import Bus
from bastion.core.clock import FrozenClock
from bastion.core.events import Event
from bastion.hub import Hub
from bastion.settings import Settings
from bastion.site.loader import load_site_file
from bastion.site.schemas import Site
from bastion.store.db import Database
from bastion.store.ledger import Ledger
from tests.conftest import service_missing

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_SITE = ROOT / "examples" / "dispensary.yaml"
EXAMPLE_RULES = ROOT / "src" / "bastion" / "automation" / "rules" / "dispensary.yaml"


@pytest.fixture(scope="session")
def site() -> Site:
    """Return the example dispensary site."""
    return load_site_file(EXAMPLE_SITE)


@pytest.fixture
async def hub(
    database: Database, clock: FrozenClock, site: Site, tmp_path: Path
) -> AsyncIterator[Hub]:
    """Return a hub on the test database with the example site loaded; close it afterwards."""
    ledger = Ledger(database)
    bus = Bus(clock=clock, sink=ledger)
    hub = Hub(
        settings=Settings(data_dir=tmp_path),
        db=database,
        ledger=ledger,
        bus=bus,
        clock=clock,
        extras={"sites": {site.site.id: site}},
    )
    yield hub
    await bus.close()
    ledger.close()


class Recorder:
    """Collect every event the bus delivers."""

    def __init__(self) -> None:
        self.events: list[Event[Any]] = []

    def __call__(self, event: Event[Any]) -> None:
        self.events.append(event)

    def of(self, name: str) -> list[Event[Any]]:
        """Return the events of one type."""
        return [e for e in self.events if e.type.name == name]


@pytest.fixture
async def recorder(hub: Hub) -> Recorder:
    """Subscribe a recorder to every event of the hub's bus."""
    rec = Recorder()
    hub.bus.subscribe(rec)
    return rec


BROKER = ("127.0.0.1", 1883)


@pytest.fixture
def broker() -> tuple[str, int]:
    """Return the Mosquitto broker address, skipping (or failing) when it does not answer."""
    try:
        with socket.create_connection(BROKER, timeout=1):
            pass
    except OSError as exc:
        service_missing(f"MQTT broker at {BROKER[0]}:{BROKER[1]} does not answer: {exc}")
    return BROKER


@pytest.fixture
def prefix() -> str:
    """Return a topic prefix no other test uses."""
    return f"test/{str(ULID()).lower()}"


class Listener:
    """A broker client that records what is published under some topics."""

    def __init__(self, topics: list[str]) -> None:
        self.topics = topics
        self.messages: list[tuple[str, str]] = []
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self.ready.wait(), 10)

    async def _run(self) -> None:
        async with aiomqtt.Client(*BROKER) as client:
            for topic in self.topics:
                await client.subscribe(topic, qos=1)
            self.ready.set()
            async for message in client.messages:
                self.messages.append((str(message.topic), bytes(message.payload).decode()))  # type: ignore[arg-type]

    async def wait_for(self, predicate, limit_s: float = 10.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit_s
        while not predicate(self.messages):
            if loop.time() > deadline:
                raise AssertionError(f"timed out; got {self.messages}")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def publish_raw(topic: str, payload: bytes | str, *, retain: bool = False) -> None:
    """Publish one message to the test broker."""
    async with aiomqtt.Client(*BROKER) as client:
        await client.publish(topic, payload, qos=1, retain=retain)


async def wait_until(predicate, limit_s: float = 30.0) -> None:
    """Poll ``predicate`` until it holds (real broker round trips), or fail."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)

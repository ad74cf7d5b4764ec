"""Fixtures for the alarms tests: the example site, a hub on the test database, a rules env."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bastion.core.bus import Bus
from bastion.core.clock import FrozenClock
from bastion.core.events import Event
from bastion.hub import Hub
from bastion.settings import Settings
from bastion.site.loader import load_site_file
from bastion.site.schemas import Site
from bastion.store.db import Database
from bastion.store.ledger import Ledger

ROOT = Path(__file__).resolve().parents[2]
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

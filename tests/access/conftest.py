"""Fixtures for the access suites: a small test site, engine factory, hub and hasher."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bastion.access.engine import AccessEngine
from bastion.access.snapshot import (
    CredentialKind,
    CredentialSpec,
    LevelSpec,
    PersonSpec,
    Policy,
)
from bastion.core.bus import Bus
from bastion.core.clock import FrozenClock
from bastion.core.context import Context
from bastion.core.ports import Presentation, PresentationKind
from bastion.hub import Hub
from bastion.settings import Settings
from bastion.site.loader import load_site, load_site_file
from bastion.site.schemas import Site
from bastion.store.crypto import KeyRing
from bastion.store.db import Database
from bastion.store.ledger import Ledger

CHICAGO = ZoneInfo("America/Chicago")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

SITE_YAML = """
version: 1
site: {id: lab, name: Test lab, timezone: America/Chicago}
zones:
  - {id: lobby, name: Lobby, layer: building}
  - {id: hall, name: Hall, layer: interior, parent: lobby}
  - {id: trap, name: Mantrap, layer: restricted, parent: lobby}
  - {id: vault, name: Vault, layer: vault, parent: hall}
  - {id: store, name: Store room, layer: interior, parent: lobby}
doors:
  - {id: front, name: Front, from: outside, to: lobby}
  - {id: hall-door, name: Hall door, from: lobby, to: hall}
  - {id: vault-door, name: Vault door, from: hall, to: vault, strike_time_s: 3}
  - {id: trap-a, name: Mantrap A, from: lobby, to: trap}
  - {id: trap-b, name: Mantrap B, from: trap, to: hall}
  - {id: store-door, name: Store door, from: lobby, to: store}
devices:
  - {id: front-in, type: reader, door: front, side: entry}
  - {id: front-out, type: reader, door: front, side: exit}
  - {id: hall-in, type: reader, door: hall-door, side: entry}
  - {id: vault-in, type: reader, door: vault-door, side: entry}
  - {id: vault-out, type: reader, door: vault-door, side: exit}
schedules:
  - id: business
    name: Business hours
    intervals:
      - {days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00"}
    holidays: [lab-holidays]
    holiday_intervals:
      - {start: "10:00", end: "12:00"}
  - id: night
    name: Night shift
    intervals:
      - {start: "22:00", end: "06:00"}
  - id: early
    name: Early hours
    intervals:
      - {start: "01:00", end: "03:00"}
  - id: allday
    name: All day
    intervals:
      - {start: "00:00", end: "23:59"}
holiday_sets:
  - id: lab-holidays
    name: Lab holidays
    holidays:
      - {date: 2026-03-10, name: Inventory day}
"""


def local(*args: int) -> datetime:
    """Return an aware datetime for a Chicago wall-clock time."""
    return datetime(*args, tzinfo=CHICAGO)  # type: ignore[misc]


@pytest.fixture(scope="session")
def lab_site() -> Site:
    return load_site(SITE_YAML, source="test")


@pytest.fixture(scope="session")
def dispensary() -> Site:
    return load_site_file(EXAMPLES / "dispensary.yaml")


def card(person: str, n: int = 1) -> CredentialSpec:
    """Return a card credential ``c-<person>-<n>`` hashed as ``h-<person>-<n>``."""
    return CredentialSpec(
        f"c-{person}-{n}", person, CredentialKind.CARD, card_hash=f"h-{person}-{n}"
    )


def present(
    person: str,
    door: str,
    at: datetime,
    *,
    reader: str | None = None,
    n: int = 1,
    pin: str | None = None,
    kind: PresentationKind | None = None,
) -> Presentation:
    """Return the presentation of ``person``'s test card at ``door``."""
    if kind is None:
        kind = PresentationKind.CARD_AND_PIN if pin is not None else PresentationKind.CARD
    return Presentation(
        door_id=door,
        reader_id=reader,
        kind=kind,
        card_hash=f"h-{person}-{n}",
        pin_hash=pin,
        time=at,
        context=Context(actor=f"device:{reader or 'test'}"),
    )


MakeEngine = Callable[..., AccessEngine]


@pytest.fixture
def make_engine(lab_site: Site, clock: FrozenClock) -> MakeEngine:
    """Build an engine on the lab site from people, levels and extra policy."""

    def make(
        people: tuple[PersonSpec, ...] = (),
        levels: tuple[LevelSpec, ...] = (),
        credentials: tuple[CredentialSpec, ...] | None = None,
        **extra: object,
    ) -> AccessEngine:
        engine = AccessEngine(clock=clock)
        creds = credentials if credentials is not None else tuple(card(p.id) for p in people)
        engine.load([lab_site], Policy(people=people, credentials=creds, levels=levels, **extra))  # type: ignore[arg-type]
        return engine

    return make


@pytest.fixture
def hasher(keyring: KeyRing) -> Callable[..., str]:
    return keyring.keyed_hash


@pytest.fixture
def ledger(database: Database) -> Iterator[Ledger]:
    led = Ledger(database)
    yield led
    led.close()


@pytest.fixture
def hub(tmp_path: Path, database: Database, ledger: Ledger, clock: FrozenClock) -> Hub:
    return Hub(
        settings=Settings(data_dir=tmp_path, session_idle_minutes=15, session_max_hours=12),
        db=database,
        ledger=ledger,
        bus=Bus(sink=ledger, clock=clock),
        clock=clock,
    )


T0 = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)  # Monday 10:00 in Chicago (CDT)

"""Fixtures for the playbook tests: the dispensary hub with notification and playbooks running.

Messages cross real sockets: the SMTP server and webhook receiver of the notification
tests, on 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bastion.automation.playbooks.presence import PRESENCE_SOURCES, access_presence
from bastion.automation.playbooks.runtime import PlaybookRuntime, start_playbooks
from bastion.core.bus import Bus
from bastion.core.clock import FrozenClock
from bastion.core.context import Context
from bastion.core.events import (
    EVENT_ACCESS_DECISION,
    AccessDecisionPayload,
    Event,
    make_event,
)
from bastion.hub import Hub
from bastion.notify.runtime import NotifyRuntime, start_notify
from bastion.settings import Settings
from bastion.site.schemas import Site
from bastion.store.db import Database
from bastion.store.ledger import Ledger
from tests.notify import conftest as notify_fixtures
from tests.notify.conftest import BASE_URL, SmtpServer, WebhookReceiver

# The notification suite's fixtures, shared by name.
add_contact = notify_fixtures.add_contact
add_tree = notify_fixtures.add_tree
notify_hub = notify_fixtures.notify_hub
smtp_server = notify_fixtures.smtp_server
webhook = notify_fixtures.webhook

SITE = "dispensary-main"
OPERATOR = Context(actor="user:1")


@pytest.fixture
def hub(tmp_path: Path, database: Database, ledger: Ledger, clock: FrozenClock) -> Hub:
    """Return the plain hub of the API suites (the automation suite's async hub does not suit the app)."""
    return Hub(
        settings=Settings(data_dir=tmp_path, session_idle_minutes=15, session_max_hours=12),
        db=database,
        ledger=ledger,
        bus=Bus(sink=ledger, clock=clock),
        clock=clock,
    )


@dataclass
class Emergency:
    """The running hub with its runtimes and the places messages arrive."""

    hub: Hub
    notify: NotifyRuntime
    playbooks: PlaybookRuntime
    smtp: SmtpServer
    webhook: WebhookReceiver

    async def settle(self) -> None:
        """Wait until the bus and every delivery in flight are done."""
        await self.hub.bus.drain()
        await self.notify.drain()
        await self.hub.bus.drain()

    def ledger(self, prefix: str) -> list[Any]:
        """Return the ledger rows whose type starts with ``prefix``, oldest first."""
        rows = self.hub.ledger.query(limit=10_000, newest_first=False)
        return [r for r in rows if r.type.startswith(prefix)]

    def payloads(self, event_type: str) -> list[dict[str, Any]]:
        """Return the payloads of one event type in the ledger, oldest first."""
        return [json.loads(r.payload) for r in self.ledger(event_type) if r.type == event_type]


@pytest.fixture
def call_trees(
    notify_hub: Hub,
    smtp_server: SmtpServer,
    webhook: WebhookReceiver,
    add_contact: Callable[..., str],
    add_tree: Callable[..., str],
) -> dict[str, str]:
    """Create the call trees the shipped playbooks name; return their ids by name."""
    police = add_contact("Police dispatch", ("webhook", webhook.url("/hook/police")))
    manager = add_contact("Manager", ("email", smtp_server.url("manager@example.com")))
    staff = add_contact("Staff list", ("email", smtp_server.url("staff@example.com")))
    return {
        "police-dispatch": add_tree("police-dispatch", [police]),
        "all-staff": add_tree("all-staff", [staff]),
        "management": add_tree("management", [manager]),
    }


@pytest.fixture
async def emergency(
    notify_hub: Hub,
    dispensary: Site,
    smtp_server: SmtpServer,
    webhook: WebhookReceiver,
    call_trees: dict[str, str],
) -> AsyncIterator[Emergency]:
    """Start notification (no ticker) and playbooks on the dispensary hub."""
    notify_hub.extras["sites"] = {SITE: dispensary}
    notify = await start_notify(notify_hub, base_url=BASE_URL, tick_s=None, resume=False)
    playbooks = await start_playbooks(notify_hub)
    yield Emergency(notify_hub, notify, playbooks, smtp_server, webhook)
    await playbooks.stop()


@pytest.fixture(autouse=True)
def _only_access_presence() -> Any:
    """Keep presence sources registered by a test from leaking into the next."""
    saved = dict(PRESENCE_SOURCES)
    PRESENCE_SOURCES.clear()
    PRESENCE_SOURCES["access"] = access_presence
    yield
    PRESENCE_SOURCES.clear()
    PRESENCE_SOURCES.update(saved)


def badge(
    person: str, door: str, reader: str, *, at: datetime, granted: bool = True
) -> Event[AccessDecisionPayload]:
    """Return an access decision as the access engine logs it."""
    return make_event(
        EVENT_ACCESS_DECISION,
        AccessDecisionPayload(
            door_id=door,
            reader_id=reader,
            subject=person,
            granted=granted,
            reason="granted" if granted else "no_level",
        ),
        context=Context(actor="access"),
        time=at,
        site=SITE,
    )


@pytest.fixture
def walk_in(notify_hub: Hub, clock: FrozenClock) -> Callable[..., None]:
    """Return a helper that logs people badging through doors (minutes before now)."""

    def walk(person: str, *reads: tuple[str, str]) -> None:
        start = clock.now() - timedelta(minutes=30)
        events = [
            badge(person, door, reader, at=start + timedelta(minutes=i))
            for i, (door, reader) in enumerate(reads)
        ]
        notify_hub.ledger.append_sync(events)

    return walk

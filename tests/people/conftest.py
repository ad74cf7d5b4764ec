"""Fixtures for the people suites: the example site stored, levels, hosts, contacts, helpers."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from bastion.access import service as access_service
from bastion.access.snapshot import LevelSpec
from bastion.core.clock import FrozenClock
from bastion.core.context import Context
from bastion.hub import Hub
from bastion.notify import service as notify_service
from bastion.notify.schemas import ChannelIn, ContactCreate
from bastion.site import service as site_service
from bastion.site.schemas import Site
from bastion.store.db import Database

SITE = "dispensary-main"
CTX = Context(actor="test")
NOW = datetime(2026, 3, 7, 15, 0, tzinfo=UTC)


@pytest.fixture
def stored_site(database: Database, dispensary: Site, site_hub: Hub) -> Site:
    """Store the example dispensary, with a sales level and a vault level that needs a check."""
    with database.unit_of_work() as session:
        site_service.import_site(session=session, site=dispensary, context=CTX, now=NOW)
        access_service.put_level(
            session=session,
            spec=LevelSpec(id="sales", site_id=SITE, zones=("sales-floor",)),
            name="Sales floor",
            context=CTX,
            now=NOW,
        )
        access_service.put_level(
            session=session,
            spec=LevelSpec(id="vault", site_id=SITE, zones=("vault",)),
            name="Vault",
            context=CTX,
            now=NOW,
        )
        access_service.put_level(
            session=session,
            spec=LevelSpec(
                id="cash", site_id=SITE, zones=("cash-room",), requires_training=("cash_handling",)
            ),
            name="Cash room",
            context=CTX,
            now=NOW,
        )
    return dispensary


def later(clock: FrozenClock, **delta: float) -> str:
    """Return the ISO text of the clock's time moved by ``delta``."""
    return (clock.now() + timedelta(**delta)).isoformat()


def document(
    number: str = "X1234567", *, kind: str = "passport", expires: date | None = None
) -> dict[str, str]:
    """Return an identity document for a request."""
    return {
        "type": kind,
        "number": number,
        "expires_on": (expires or date(2030, 1, 1)).isoformat(),
    }


def ledger_payloads(hub: Hub, event_type: str) -> list[dict[str, Any]]:
    """Return the payloads of the ledger rows of ``event_type``, oldest first."""
    rows = hub.ledger.query(types=[event_type], limit=10_000, newest_first=False)
    return [json.loads(r.payload) for r in rows]


def raw(database: Database, sql: str) -> list[str]:
    """Return every value of every row of ``sql`` as stored (ciphertext for encrypted columns)."""
    with database.engine.connect() as conn:
        return [str(value) for row in conn.execute(text(sql)) for value in row]


MakeContact = Callable[[str, str], str]


@pytest.fixture
def make_contact(database: Database) -> MakeContact:
    """Return a factory of notification contacts with one e-mail channel; returns the id."""

    def make(name: str, url: str) -> str:
        with database.unit_of_work() as session:
            contact = notify_service.create_contact(
                session=session,
                data=ContactCreate(name=name, channels=[ChannelIn(kind="email", url=url)]),
                context=CTX,
                now=NOW,
            )
            return contact.id

    return make

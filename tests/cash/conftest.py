"""Fixtures for the cash suites: the example dispensary stored, its containers, people, helpers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from bastion.cash import movements
from bastion.core.clock import FrozenClock
from bastion.core.context import Context
from bastion.hub import Hub
from bastion.people import employees
from bastion.site import service as site_service
from bastion.site.schemas import Site
from bastion.store.db import Database

SITE = "dispensary-main"
CTX = Context(actor="test")


@dataclass
class Store:
    """The example store's cash containers and staff."""

    site: Site
    register1: str
    register2: str
    safe: str
    vault: str
    alice: str
    bob: str


@pytest.fixture
def store(database: Database, dispensary: Site, site_hub: Hub, clock: FrozenClock) -> Store:
    """Store the dispensary with two registers (T1, T2), a drop safe, the vault and two cashiers."""
    now = clock.now()
    with site_hub.unit_of_work() as session:
        site_service.import_site(session=session, site=dispensary, context=CTX, now=now)
        r1 = movements.create_container(
            session=session,
            site=dispensary,
            kind="register",
            name="Register 1",
            zone_id="sales-floor",
            camera_id="cam-pos",
            terminal="T1",
            context=CTX,
            now=now,
        )
        r2 = movements.create_container(
            session=session,
            site=dispensary,
            kind="register",
            name="Register 2",
            zone_id="sales-floor",
            camera_id="cam-sales-1",
            terminal="T2",
            context=CTX,
            now=now,
        )
        safe = movements.create_container(
            session=session,
            site=dispensary,
            kind="drop_safe",
            name="Drop safe",
            zone_id="cash-room",
            context=CTX,
            now=now,
        )
        vault = movements.create_container(
            session=session,
            site=dispensary,
            kind="vault",
            name="Vault",
            zone_id="vault",
            context=CTX,
            now=now,
        )
        alice = employees.hire(
            session=session, name="Alice Cashier", site_id=SITE, context=CTX, now=now
        )
        bob = employees.hire(
            session=session, name="Bob Cashier", site_id=SITE, context=CTX, now=now
        )
        return Store(dispensary, r1.id, r2.id, safe.id, vault.id, alice.id, bob.id)


def ledger_payloads(hub: Hub, event_type: str) -> list[dict[str, Any]]:
    """Return the payloads of the ledger rows of ``event_type``, oldest first."""
    rows = hub.ledger.query(types=[event_type], limit=100_000, newest_first=False)
    return [json.loads(r.payload) for r in rows]


def record(
    pos_id: str,
    at,
    *,
    kind: str = "sale",
    terminal: str = "T1",
    cashier: str = "0042",
    total: int = 0,
    cash: int | None = None,
    discount: int = 0,
    original: str | None = None,
    customer: str | None = None,
):
    """Return a POS record; the cash tender defaults to the whole total for sales and refunds."""
    from bastion.core.ports import PosKind, PosRecord, PosTender
    from bastion.integrations.pos.formats import cash_of

    k = PosKind(kind)
    paid = total if cash is None else cash
    tenders = ()
    if k in (PosKind.SALE, PosKind.REFUND, PosKind.VOID) and total:
        tenders = tuple(
            t for t in (PosTender("cash", paid), PosTender("card", total - paid)) if t.cents
        )
    return PosRecord(
        pos_id=pos_id,
        terminal=terminal,
        cashier=cashier,
        time=at,
        kind=k,
        total_cents=total,
        cash_cents=cash_of(k, total, tenders),
        discount_cents=discount,
        tenders=tenders,
        original_id=original,
        customer_ref=customer,
        line=pos_id,
    )


def ingest(hub: Hub, site: Site, records, rejects=(), *, clips=None, source="test", now=None):
    """Ingest one batch in a unit of work; return the result."""
    from bastion.cash import pos
    from bastion.cash import settings as cash_settings
    from bastion.cash.runtime import customer_key

    with hub.unit_of_work() as session:
        return pos.ingest(
            session=session,
            site=site,
            records=records,
            rejects=rejects,
            source=source,
            context=Context(actor="integration:pos"),
            now=now or hub.clock.now(),
            settings=cash_settings.load(session=session, site_id=site.site.id),
            customer_key=customer_key(hub),
            clips=clips,
        )


def balance_of(hub: Hub, container_id: str) -> int:
    with hub.db.sessions() as session:
        return movements.balance(session=session, container_id=container_id)

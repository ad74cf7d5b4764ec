"""Fixtures for the inventory suites: the dispensary stored, its locations, items, two staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import pytest

from bastion.auth import service as auth_service
from bastion.auth.permissions import Grant, Role
from bastion.core.clock import FrozenClock
from bastion.core.context import Context
from bastion.core.events import EVENT_ACCESS_DECISION, AccessDecisionPayload, make_event
from bastion.hub import Hub
from bastion.inventory import catalog, movements
from bastion.inventory.models import InvPackage
from bastion.people import employees
from bastion.people.models import Person
from bastion.site import service as site_service
from bastion.site.schemas import Site
from bastion.store.db import Database

SITE = "dispensary-main"
CTX = Context(actor="test")
TAGS = [f"1A4FF0100000022000{n:06d}" for n in range(1, 200)]


@dataclass
class Shop:
    """The dispensary's inventory places, one item and two staff with operator accounts."""

    site: Site
    vault: str
    floor: str
    backroom: str
    flower: str
    alice: str
    bob: str
    alice_user: int
    bob_user: int


@pytest.fixture
def shop(database: Database, dispensary: Site, site_hub: Hub, clock: FrozenClock) -> Shop:
    """Store the dispensary with a vault, sales floor and back room, an item and two staff."""
    now = clock.now()
    with site_hub.unit_of_work() as session:
        site_service.import_site(session=session, site=dispensary, context=CTX, now=now)
        vault = catalog.create_location(
            session=session,
            site=dispensary,
            name="Vault",
            zone_id="vault",
            kind="vault",
            context=CTX,
            now=now,
        )
        floor = catalog.create_location(
            session=session,
            site=dispensary,
            name="Sales floor",
            zone_id="sales-floor",
            kind="sales",
            context=CTX,
            now=now,
        )
        back = catalog.create_location(
            session=session,
            site=dispensary,
            name="Back room",
            zone_id="back-of-house",
            context=CTX,
            now=now,
        )
        flower = catalog.create_item(
            session=session,
            site_id=SITE,
            name="Blue Dream 3.5 g",
            unit="g",
            category="Flower",
            unit_value_cents=1000,
            context=CTX,
            now=now,
        )
        alice = employees.hire(
            session=session, name="Alice Budtender", site_id=SITE, context=CTX, now=now
        )
        bob = employees.hire(
            session=session, name="Bob Manager", site_id=SITE, context=CTX, now=now
        )
        ids = []
        for name, person in (("alice", alice), ("bob", bob)):
            user = auth_service.create_user(
                session=session,
                username=name,
                password="correct horse battery staple",
                grants=[Grant(Role.INVENTORY_STAFF, SITE)],
                clock=clock,
                context=CTX,
            )
            session.flush()
            session.get(Person, person.id).user_id = user.id
            ids.append(user.id)
        return Shop(
            dispensary, vault.id, floor.id, back.id, flower.id, alice.id, bob.id, ids[0], ids[1]
        )


def badge_in(
    hub: Hub, person_id: str, at: datetime, door: str = "vault-door", granted: bool = True
) -> None:
    """Append a granted (or refused) access decision at a door to the ledger."""
    hub.ledger.append_sync(
        [
            make_event(
                EVENT_ACCESS_DECISION,
                AccessDecisionPayload(
                    door_id=door,
                    subject=person_id,
                    granted=granted,
                    reason="granted" if granted else "denied",
                ),
                context=Context(actor="device:reader"),
                time=at,
                site=SITE,
            )
        ]
    )


def actor(hub: Hub, user_id: int) -> movements.Actor:
    with hub.db.sessions() as session:
        return movements.Actor.of_user(session, Context(actor=f"user:{user_id}"), user_id)


def new_package(
    hub: Hub,
    shop: Shop,
    tag: str,
    qty: str,
    *,
    location: str | None = None,
    now: datetime,
    user: int | None = None,
) -> str:
    """Create a package of the shop's flower (by the test actor unless a user is given)."""
    with hub.unit_of_work() as session:
        who = movements.Actor.of_user(
            session, CTX if user is None else Context(actor=f"user:{user}"), user
        )
        row = movements.create_package(
            session=session,
            site=shop.site,
            site_id=SITE,
            tag=tag,
            item=catalog.get_item(session, SITE, shop.flower),
            quantity=Decimal(qty),
            unit="g",
            actor=who,
            now=now,
            location=catalog.get_location(session, SITE, location or shop.backroom),
        )
        return row.id


def quantity(hub: Hub, package_id: str) -> Decimal:
    from bastion.inventory import units

    with hub.db.sessions() as session:
        row = session.get(InvPackage, package_id)
        assert row is not None
        return units.from_stored(row.quantity)

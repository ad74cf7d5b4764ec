"""The dock window through the real access engine, and the two-person hand-over."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bastion.access import service as access_service
from bastion.access.cards import parse_card
from bastion.access.runtime import start_access, stop_access
from bastion.core.errors import Conflict
from bastion.core.events import EVENT_ACCESS_DECISION
from bastion.core.ports import Presentation, PresentationKind
from bastion.transport import dock, service
from bastion.transport.models import Handover, Trip
from tests.transport.conftest import CTX, depart, plan

CARDS = {
    "alice": "h10301:18:1001",
    "bob": "h10301:18:1002",
    "carol": "h10301:18:1003",
    "mallory": "h10301:18:1004",
}
PACKAGE = "1A4000000000000000001234"


def _enrol(hub, fleet):
    from bastion.people import employees

    now = hub.clock.now()
    with hub.unit_of_work() as session:
        mallory = employees.hire(
            session=session, name="Mallory", site_id=fleet.site.site.id, context=CTX, now=now
        ).id
        ids = {"alice": fleet.alice, "bob": fleet.bob, "carol": fleet.carol, "mallory": mallory}
        for who, person_id in ids.items():
            access_service.issue_credential(
                session=session,
                person_id=person_id,
                kind="card",
                card=parse_card(CARDS[who]),
                hasher=hub.hash_credential,
                context=CTX,
                now=now,
            )
    return ids


def _badge(hub, engine, who):
    card = hub.hash_credential(parse_card(CARDS[who]).canonical, purpose="card")
    return engine.decide(
        Presentation(
            door_id="dock-door",
            reader_id=None,
            kind=PresentationKind.CARD,
            card_hash=card,
            time=hub.clock.now(),
        )
    ).granted


async def _logged(hub, count):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while len(hub.ledger.query(types=[EVENT_ACCESS_DECISION.name], limit=100)) < count:
        assert loop.time() < deadline
        await asyncio.sleep(0.02)


def _sign(hub, fleet, trip_id, crew, staff, scanned=(PACKAGE,)):
    with hub.unit_of_work() as session:
        trip = session.get(Trip, trip_id)
        return dock.sign(
            session=session,
            site=fleet.site,
            trip=trip,
            direction="out",
            door_id="dock-door",
            crew_person_id=crew,
            staff_person_id=staff,
            scanned=list(scanned),
            context=CTX,
            now=hub.clock.now(),
        )


async def test_dock_opens_only_in_window_for_crew_and_receiver(hub, clock, fleet):
    _enrol(hub, fleet)
    trip = plan(hub, fleet, depart_in=60)
    engine = start_access(hub)
    try:
        assert not _badge(hub, engine, "alice")  # no level for the dock door yet
        with hub.unit_of_work() as session, pytest.raises(Conflict, match="only"):
            dock.open_dock(
                session=session,
                site=fleet.site,
                trip=session.get(Trip, trip.id),
                direction="out",
                door_id="dock-door",
                staff=[fleet.carol],
                context=CTX,
                now=clock.now(),
                engine=engine,
            )
        clock.advance(40 * 60)  # 20 minutes before departure: inside the window
        with hub.unit_of_work() as session:
            dock.open_dock(
                session=session,
                site=fleet.site,
                trip=session.get(Trip, trip.id),
                direction="out",
                door_id="dock-door",
                staff=[fleet.carol],
                context=CTX,
                now=clock.now(),
                engine=engine,
            )
        assert _badge(hub, engine, "alice")
        assert _badge(hub, engine, "carol")
        assert not _badge(hub, engine, "mallory")
        await _logged(hub, 4)
        # the receiver cannot sign twice, crew must be crew, packages must match
        assert isinstance(_sign(hub, fleet, trip.id, fleet.carol, fleet.alice), service.Refused)
        assert isinstance(_sign(hub, fleet, trip.id, fleet.alice, fleet.bob), service.Refused)
        refused = _sign(
            hub, fleet, trip.id, fleet.alice, fleet.carol, scanned=["1A40000000000000000099"]
        )
        assert isinstance(refused, service.Refused) and "not scanned" in refused.reason
        done = _sign(hub, fleet, trip.id, fleet.alice, fleet.carol)
        assert isinstance(done, Handover)
        with hub.db.sessions() as session:
            row = session.get(Handover, done.id)
            assert row.crew_access_event and row.staff_access_event
        depart(hub, fleet, trip.id)
        clock.advance(51 * 60)  # the window has passed: the tick closes the dock
        with hub.unit_of_work() as session:
            assert (
                dock.close_expired(session=session, context=CTX, now=clock.now(), engine=engine)
                == 1
            )
        assert not _badge(hub, engine, "alice")
        assert not _badge(hub, engine, "carol")
        actions = [
            r.payload
            for r in hub.ledger.query(types=["transport.trip"], limit=100, newest_first=False)
        ]
        assert sum('"change_refused"' in a for a in actions) == 3
        assert any('"dock_closed"' in a for a in actions)
    finally:
        await stop_access(hub)


async def test_handover_needs_badges_in_the_window(hub, clock, fleet):
    _enrol(hub, fleet)
    trip = plan(hub, fleet, depart_in=10)
    refused = _sign(hub, fleet, trip.id, fleet.alice, fleet.carol)
    assert isinstance(refused, service.Refused) and "badged" in refused.reason
    clock.advance(timedelta(hours=2).total_seconds())
    refused = _sign(hub, fleet, trip.id, fleet.alice, fleet.carol)
    assert isinstance(refused, service.Refused) and "allowed only" in refused.reason

"""A dispensary with two people and a day of door events to search."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from bastion.core.context import Context
from bastion.core.events import (
    EVENT_ACCESS_DECISION,
    EVENT_ALARM_RAISED,
    EVENT_DOOR_HELD,
    AccessDecisionPayload,
    AlarmPayload,
    DoorPayload,
    make_event,
)
from bastion.hub import Hub
from bastion.people import service as people_service

SITE = "dispensary-main"


@dataclass
class Day:
    """Who is on the site and when the day started (UTC)."""

    alice: str
    bob: str
    start: datetime


def decision(person: str, door: str, at: datetime, *, granted: bool, reader: str) -> object:
    return make_event(
        EVENT_ACCESS_DECISION,
        AccessDecisionPayload(
            door_id=door,
            reader_id=reader,
            subject=person,
            granted=granted,
            reason="granted" if granted else "no_level_for_door",
        ),
        context=Context(actor=f"device:{reader}"),
        time=at,
        site=SITE,
    )


@pytest.fixture
def day(site_hub: Hub) -> Day:
    """Alice enters the vault; Bob is refused at the vault, then holds the cash-room door."""
    now = site_hub.clock.now()
    with site_hub.unit_of_work() as session:
        ids = [
            people_service.create_person(
                session=session,
                name=name,
                kind="employee",
                site_id=SITE,
                context=Context(actor="test"),
                now=now,
            ).id
            for name in ("Alice Moreno", "Bob Tran")
        ]
    alice, bob = ids
    start = now - timedelta(hours=6)
    events = [
        decision(
            alice,
            "vault-door",
            start + timedelta(minutes=5),
            granted=True,
            reader="vault-door-rdr-in",
        ),
        decision(
            bob,
            "vault-door",
            start + timedelta(minutes=20),
            granted=False,
            reader="vault-door-rdr-in",
        ),
        decision(
            bob, "cash-door", start + timedelta(hours=2), granted=True, reader="cash-door-rdr-in"
        ),
        make_event(
            EVENT_DOOR_HELD,
            DoorPayload(door_id="cash-door", state="held"),
            context=Context(actor="device:cash-door"),
            time=start + timedelta(hours=2, minutes=2),
            site=SITE,
        ),
        make_event(
            EVENT_ALARM_RAISED,
            AlarmPayload(
                alarm_type="door_held",
                priority=3,
                message="Cash room door held open",
                zone_id="cash-room",
                door_id="cash-door",
            ),
            context=Context(actor="system"),
            time=start + timedelta(hours=2, minutes=3),
            site=SITE,
        ),
        make_event(
            EVENT_ACCESS_DECISION,
            AccessDecisionPayload(
                door_id="front-entry", subject=alice, granted=True, reason="granted"
            ),
            context=Context(actor="device:front-rdr"),
            time=start + timedelta(hours=3),
            site="other-site",
        ),
    ]
    site_hub.ledger.append_sync(events)
    return Day(alice=alice, bob=bob, start=start)

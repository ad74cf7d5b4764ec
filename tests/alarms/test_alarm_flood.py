"""Alarm-flood control: a storm from one source folds into one alarm; bulk acknowledge."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bastion.alarms.models import Alarm
from bastion.alarms.runtime import start_alarms
from bastion.core.context import Context
from bastion.core.events import EVENT_DOOR_FORCED, DoorPayload


@pytest.fixture
async def alarms(hub):
    runtime = await start_alarms(hub, tick_s=None)
    yield runtime
    await runtime.stop()


def _alarms(hub) -> list[Alarm]:
    with hub.db.sessions() as session:
        return list(session.execute(select(Alarm).order_by(Alarm.raised_at)).scalars())


async def _force(hub, site, door="vault-door"):
    await hub.bus.publish(
        EVENT_DOOR_FORCED,
        DoorPayload(door_id=door, state="forced", zone_id="vault"),
        context=Context(actor="device:panel"),
        site=site.site.id,
    )


async def test_a_storm_of_fifty_raises_from_one_door_is_one_alarm_counted_fifty(hub, site, alarms):
    for _ in range(50):
        await _force(hub, site)
    await hub.bus.drain()
    await hub.bus.drain()
    (alarm,) = _alarms(hub)
    assert alarm.occurrences == 50 and alarm.door_id == "vault-door"
    # The ledger still holds every raise.
    rows = hub.ledger.query(types=[EVENT_DOOR_FORCED.name], limit=500)
    assert len(rows) == 50


async def test_the_repeat_window_is_a_setting_and_slides(hub, site, alarms, clock):
    assert alarms.repeat_window_s == hub.settings.alarm_repeat_window_seconds
    alarms.repeat_window_s = 60.0
    await _force(hub, site)
    await hub.bus.drain()
    clock.advance(50)
    await _force(hub, site)
    await hub.bus.drain()
    clock.advance(50)  # 100 s after the first, 50 s after the last
    await _force(hub, site)
    await hub.bus.drain()
    (alarm,) = _alarms(hub)
    assert alarm.occurrences == 3
    clock.advance(61)
    await _force(hub, site)
    await hub.bus.drain()
    assert [a.occurrences for a in _alarms(hub)] == [3, 1]


async def test_other_doors_are_not_folded_together(hub, site, alarms):
    door_ids = [d.id for d in site.doors][:2]
    for door in door_ids:
        await _force(hub, site, door)
    await hub.bus.drain()
    assert len(_alarms(hub)) == len(door_ids)

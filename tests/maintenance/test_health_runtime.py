"""Device health on a hub: link reports become one trouble alarm, cleared on recovery."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bastion.alarms.models import Alarm
from bastion.alarms.runtime import start_alarms
from bastion.core.context import Context
from bastion.core.events import EVENT_DEVICE_STATUS, DeviceStatusPayload
from bastion.maintenance.health import KindSettings
from bastion.maintenance.runtime import start_device_health

READER = "vault-door-rdr-in"
SETTINGS = {"reader": KindSettings(offline_grace_s=10, flap_count=3, flap_window_s=60)}


@pytest.fixture
async def runtimes(hub):
    alarms = await start_alarms(hub, tick_s=None)
    health = await start_device_health(hub, settings=SETTINGS, tick_s=3600)
    yield health
    await health.stop()
    await alarms.stop()


async def _link(hub, site, online: bool, device: str = READER) -> None:
    await hub.bus.publish(
        EVENT_DEVICE_STATUS,
        DeviceStatusPayload(device_id=device, kind="reader", online=online),
        context=Context(actor=f"device:{device}"),
        site=site.site.id,
    )
    await hub.bus.drain()


def _alarms(hub) -> list[Alarm]:
    with hub.db.sessions() as session:
        return list(session.execute(select(Alarm).order_by(Alarm.raised_at)).scalars())


async def test_an_offline_reader_raises_one_alarm_that_clears_when_it_is_back(
    hub, site, clock, runtimes
):
    await _link(hub, site, True)
    await _link(hub, site, False)
    clock.advance(5)
    await runtimes.tick()
    assert _alarms(hub) == []  # still inside the grace period
    clock.advance(5)
    await runtimes.tick()
    clock.advance(30)
    await runtimes.tick()
    await hub.bus.drain()
    (alarm,) = _alarms(hub)
    assert (alarm.alarm_type, alarm.device_id, alarm.state) == ("device_offline", READER, "raised")
    assert alarm.zone_id == "vault" and alarm.priority <= 2  # the vault raises its urgency
    await _link(hub, site, True)
    clock.advance(5)
    await runtimes.tick()
    await hub.bus.drain()
    (alarm,) = _alarms(hub)
    assert (alarm.state, alarm.closed_by, alarm.resolve_seconds) == ("resolved", "system", None)
    assert "device recovered" in alarm.reason
    health = [r.payload for r in hub.ledger.query(types=["device.health"])]
    assert [('"restored"' in p, '"offline"' in p) for p in reversed(health)] == [
        (False, True),
        (True, False),
    ]
    states = hub.ledger.query(types=["alarm.state"])
    assert len(states) == 1 and '"resolved"' in states[0].payload


async def test_a_flapping_reader_raises_one_trouble_alarm(hub, site, clock, runtimes):
    await _link(hub, site, True)
    for _ in range(6):
        await _link(hub, site, False)
        clock.advance(1)
        await _link(hub, site, True)
        clock.advance(4)
        await runtimes.tick()
    await hub.bus.drain()
    (alarm,) = _alarms(hub)
    assert (alarm.alarm_type, alarm.state) == ("device_trouble", "raised")
    assert "dropped 3 times" in alarm.message
    clock.advance(60)
    await runtimes.tick()
    await hub.bus.drain()
    assert [a.state for a in _alarms(hub)] == ["resolved"]


async def test_an_acknowledged_trouble_alarm_is_cleared_too_and_a_new_outage_is_a_new_alarm(
    hub, site, clock, runtimes
):
    from bastion.alarms import service

    await _link(hub, site, True)
    await _link(hub, site, False)
    clock.advance(10)
    await runtimes.tick()
    (alarm,) = _alarms(hub)
    with hub.unit_of_work() as session:
        service.acknowledge(
            session=session,
            alarm_id=alarm.id,
            operator="user:1",
            context=Context(actor="user:1"),
            now=clock.now(),
        )
    await _link(hub, site, True)
    clock.advance(5)
    await runtimes.tick()
    await _link(hub, site, False)
    clock.advance(10)
    await runtimes.tick()
    await hub.bus.drain()
    assert [(a.state, a.alarm_type) for a in _alarms(hub)] == [
        ("resolved", "device_offline"),
        ("raised", "device_offline"),
    ]

"""An MQTT sensor's last will over the real broker: one offline alarm, cleared when it is back."""

from __future__ import annotations

from sqlalchemy import select

from bastion.alarms.models import Alarm
from bastion.alarms.runtime import start_alarms
from bastion.integrations import create
from bastion.maintenance.health import KindSettings
from bastion.maintenance.runtime import start_device_health
from tests.monitoring_support import broker, prefix, publish_raw, wait_until

__all__ = ["broker", "prefix"]
SENSOR = KindSettings(offline_grace_s=30, restore_after_s=10)


def _alarms(hub) -> list[Alarm]:
    with hub.db.sessions() as session:
        return list(session.execute(select(Alarm)).scalars())


async def test_a_sensor_gone_offline_is_one_alarm_cleared_when_it_is_back(
    hub, site, clock, broker, prefix, recorder
):
    alarms = await start_alarms(hub, tick_s=None)
    health = await start_device_health(hub, settings={"sensor": SENSOR}, tick_s=3600)
    integration, config = create(
        {"type": "mqtt", "site_id": site.site.id, "topic_prefix": prefix, "debounce_s": 0}
    )
    await integration.setup(hub, config)

    def links() -> list[bool]:
        return [e.payload.online for e in recorder.of("device.status")]

    try:
        await wait_until(integration.connection.connected.is_set)
        await publish_raw(f"{prefix}/dock-pir", b"OFF")
        await publish_raw(f"{prefix}/dock-pir/availability", b"offline")  # its last will
        await wait_until(lambda: links() == [True, False])
        clock.advance(29)
        await health.tick()
        assert _alarms(hub) == []
        clock.advance(1)
        await health.tick()
        await hub.bus.drain()
        (alarm,) = _alarms(hub)
        assert (alarm.alarm_type, alarm.device_id, alarm.state) == (
            "device_offline",
            "dock-pir",
            "raised",
        )
        await publish_raw(f"{prefix}/dock-pir/availability", b"online")
        await wait_until(lambda: links() == [True, False, True])
        clock.advance(10)
        await health.tick()
        await hub.bus.drain()
    finally:
        await integration.unload()
        await health.stop()
        await alarms.stop()
    assert [(a.state, a.closed_by) for a in _alarms(hub)] == [("resolved", "system")]

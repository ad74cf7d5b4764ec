"""A Frigate camera over the real broker: record flapping during an ffmpeg restart is no alarm;
record offline past its grace is one alarm, cleared when it is back; no frames is trouble."""

from __future__ import annotations

import json

from sqlalchemy import select

from bastion.alarms.models import Alarm
from bastion.alarms.runtime import start_alarms
from bastion.integrations import create
from bastion.maintenance.health import KindSettings
from bastion.maintenance.runtime import start_device_health
from tests.monitoring_support import broker, prefix, publish_raw, wait_until

__all__ = ["broker", "prefix"]
CAMERA = KindSettings(offline_grace_s=30, startup_grace_s=60, restore_after_s=30, flap_count=5)


def _alarms(hub) -> list[Alarm]:
    with hub.db.sessions() as session:
        return list(session.execute(select(Alarm).order_by(Alarm.raised_at)).scalars())


async def test_camera_health_from_frigate_becomes_one_alarm_per_trouble(
    hub, site, clock, broker, prefix, recorder
):
    alarms = await start_alarms(hub, tick_s=None)
    health = await start_device_health(hub, settings={"camera": CAMERA}, tick_s=3600)
    integration, config = create(
        {
            "type": "frigate",
            "site_id": site.site.id,
            "topic_prefix": prefix,
            "client_id": f"fr-h-{prefix[-8:]}",
            "cameras": {"dock_apron": "cam-dock-apron"},
        }
    )
    await integration.setup(hub, config)

    def links():
        return [(e.payload.online, e.payload.degraded) for e in recorder.of("device.status")]

    async def tick(seconds: float) -> None:
        clock.advance(seconds)
        await health.tick()
        await hub.bus.drain()

    try:
        await wait_until(integration.connection.connected.is_set)
        await publish_raw(f"{prefix}/dock_apron/status/record", b"online")
        await wait_until(lambda: len(links()) == 1)
        for n in range(2):  # the watchdog restarts ffmpeg: a few seconds offline each time
            await publish_raw(f"{prefix}/dock_apron/status/record", b"offline")
            await publish_raw(f"{prefix}/dock_apron/status/record", b"online")
            await wait_until(lambda n=n: len(links()) == 3 + 2 * n)
            await tick(5)
        assert _alarms(hub) == []
        await publish_raw(f"{prefix}/dock_apron/status/record", b"offline")
        await wait_until(lambda: len(links()) == 6)
        await tick(30)
        (alarm,) = _alarms(hub)
        assert (alarm.alarm_type, alarm.device_id) == ("device_offline", "cam-dock-apron")
        await publish_raw(f"{prefix}/dock_apron/status/record", b"online")
        await wait_until(lambda: len(links()) == 7)
        await tick(30)
        assert [a.state for a in _alarms(hub)] == ["resolved"]
        stats = {"cameras": {"dock_apron": {"camera_fps": 0, "process_fps": 0, "skipped_fps": 0}}}
        await publish_raw(f"{prefix}/stats", json.dumps(stats).encode())
        await wait_until(lambda: links()[-1] == (True, True))
        await tick(30)
        trouble = _alarms(hub)[-1]
        assert (trouble.alarm_type, trouble.state) == ("device_trouble", "raised")
        assert "0 fps" in trouble.message
    finally:
        await integration.unload()
        await health.stop()
        await alarms.stop()

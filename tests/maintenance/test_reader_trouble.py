"""A real libosdp reader unplugged and plugged back: one offline alarm, cleared on recovery."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import select

from bastion.alarms.models import Alarm
from bastion.alarms.runtime import start_alarms
from bastion.core.bus import Bus
from bastion.hub import Hub
from bastion.integrations.osdp import MemoryKeyStore, OsdpConfig, OsdpIntegration
from bastion.maintenance.health import KindSettings
from bastion.maintenance.runtime import start_device_health
from bastion.settings import Settings
from bastion.store.ledger import Ledger
from tests.integrations.osdp.osdp_support import SimProcess, make_site

FAST = {"reader": KindSettings(offline_grace_s=1, startup_grace_s=30, restore_after_s=1)}


def _alarms(hub: Hub) -> list[Alarm]:
    with hub.db.sessions() as session:
        return list(session.execute(select(Alarm)).scalars())


async def _until(predicate, within: float) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.05)


@pytest.mark.slow
async def test_an_unplugged_reader_is_one_alarm_cleared_when_plugged_back(database, tmp_path):
    site = make_site(1)
    ledger = Ledger(database)
    hub = Hub(
        settings=Settings(data_dir=tmp_path),
        db=database,
        ledger=ledger,
        bus=Bus(sink=ledger),
        extras={"sites": {site.site.id: site}},
    )
    sim = await asyncio.to_thread(SimProcess, ["-a", "1", "--baud", "115200"])
    alarms = await start_alarms(hub, tick_s=None)
    health = await start_device_health(hub, settings=FAST, tick_s=0.1)
    panel = OsdpIntegration(key_store=MemoryKeyStore())
    config = {"site_id": site.site.id, "buses": [{"name": "bus1", "transport": "pty"}]}
    config["buses"][0]["port"] = sim.path
    await panel.setup(hub, OsdpConfig.model_validate(config))
    try:
        await _until(lambda: panel.status()["reader-1"]["secure"], within=30)
        assert _alarms(hub) == []  # coming up within the start-up grace is no trouble
        sim.send("unplug")
        await _until(lambda: len(_alarms(hub)) == 1, within=40)
        sim.send("plug")
        await _until(lambda: _alarms(hub)[0].state == "resolved", within=60)
    finally:
        await panel.unload()
        await health.stop()
        await alarms.stop()
        await hub.bus.close()
        ledger.close()
        await asyncio.to_thread(sim.close)
    (alarm,) = _alarms(hub)
    assert (alarm.alarm_type, alarm.device_id, alarm.closed_by) == (
        "device_offline",
        "reader-1",
        "system",
    )
    statuses = [r.payload for r in ledger.query(types=["device.health"])]
    assert len(statuses) == 2  # one "offline", one "restored": no flapping in between

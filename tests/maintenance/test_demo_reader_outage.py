"""The demo unplugs one simulated OSDP reader each morning: one alarm, cleared when plugged back."""

from __future__ import annotations

import asyncio
from datetime import time
from pathlib import Path

import pytest
from sqlalchemy import select

from bastion.alarms.models import Alarm
from bastion.alarms.runtime import start_alarms
from bastion.core.bus import Bus
from bastion.hub import Hub
from bastion.integrations.osdp import OsdpConfig, OsdpIntegration
from bastion.integrations.simulator import SimulatorConfig, SimulatorIntegration
from bastion.integrations.simulator import integration as simulator_module
from bastion.maintenance.health import KindSettings
from bastion.maintenance.runtime import start_device_health
from bastion.settings import Settings
from bastion.site.loader import load_site_file
from bastion.store.ledger import Ledger

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FAST = {"reader": KindSettings(offline_grace_s=2, startup_grace_s=60, restore_after_s=1)}


def _alarms(hub) -> list[Alarm]:
    with hub.db.sessions() as session:
        return list(session.execute(select(Alarm)).scalars())


async def _until(predicate, within: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.1)


@pytest.mark.slow
async def test_the_morning_outage_is_one_alarm_that_clears(database, tmp_path, monkeypatch):
    from bastion import osdp_keys
    from bastion.store import crypto

    monkeypatch.setattr(simulator_module, "UNPLUGGED_S", 8.0)
    site = load_site_file(EXAMPLES / "dispensary.yaml")
    ledger = Ledger(database)
    hub = Hub(
        settings=Settings(data_dir=tmp_path), db=database, ledger=ledger, bus=Bus(sink=ledger)
    )
    hub.extras["sites"] = {site.site.id: site}
    keys = osdp_keys.key_store_for(tmp_path, crypto.keyring())
    hub.extras["osdp_keys"] = keys
    alarms = await start_alarms(hub, tick_s=None)
    health = await start_device_health(hub, settings=FAST, tick_s=0.2)
    simulator = SimulatorIntegration()
    panel = OsdpIntegration(key_store=keys)
    # The first step is 09:55; the next, 20 s later, is 10:00, when the outage starts.
    config = SimulatorConfig(
        site_id=site.site.id, osdp_folder=tmp_path / "osdp", step_s=20, start=time(9, 55), seed=3
    )
    try:
        await simulator.setup(hub, config)
        assert simulator.readers is not None
        buses = [
            {"name": bus, "transport": "pty", "port": str(lines[0].link)}
            for bus, lines in sorted(simulator.readers.buses().items())
        ]
        await panel.setup(hub, OsdpConfig.model_validate({"site_id": site.site.id, "buses": buses}))
        await _until(lambda: all(s["secure"] for s in panel.status().values()), within=60)
        assert _alarms(hub) == []
        await _until(lambda: len(_alarms(hub)) == 1, within=60)
        (alarm,) = _alarms(hub)
        assert alarm.alarm_type == "device_offline" and "-rdr-" in (alarm.device_id or "")
        await _until(lambda: _alarms(hub)[0].state == "resolved", within=60)
    finally:
        await panel.unload()
        await simulator.unload()
        await health.stop()
        await alarms.stop()
        await hub.bus.close()
        ledger.close()
    assert len(_alarms(hub)) == 1

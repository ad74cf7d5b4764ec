"""The demo's traffic simulator, on the real bus and ledger."""

import asyncio
import socket
import sqlite3
import subprocess
import sys
from datetime import time
from pathlib import Path

from bastion.core.bus import Bus
from bastion.hub import Hub
from bastion.integrations import available, create
from bastion.integrations.simulator import SimulatorConfig, SimulatorIntegration
from bastion.settings import Settings
from bastion.site.loader import load_site_file
from bastion.store.ledger import Ledger

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def test_simulator_is_registered_as_an_integration():
    assert available()["simulator"] is SimulatorIntegration
    integration, config = create({"type": "simulator", "site_id": "dispensary-main"})
    assert isinstance(integration, SimulatorIntegration)
    assert isinstance(config, SimulatorConfig)


async def test_simulated_night_forces_a_door_and_everything_is_ledgered(database, tmp_path):
    site = load_site_file(EXAMPLES / "dispensary.yaml")
    ledger = Ledger(database)
    hub = Hub(
        settings=Settings(data_dir=tmp_path), db=database, ledger=ledger, bus=Bus(sink=ledger)
    )
    hub.extras["sites"] = {site.site.id: site}
    simulator = SimulatorIntegration()
    await simulator.setup(
        hub, SimulatorConfig(site_id=site.site.id, step_s=0.001, start=time(1, 0), seed=7)
    )
    for _ in range(500):
        if any("door_forced" in r.payload for r in ledger.query(types=["alarm.raised"])):
            break
        await asyncio.sleep(0.01)
    await simulator.unload()
    await hub.bus.close()
    forced = ledger.query(types=["door.forced"])
    assert len(forced) == 1
    alarms = [r for r in ledger.query(types=["alarm.raised"]) if "forced" in r.payload]
    assert alarms and alarms[0].parent_id == forced[0].context_id
    assert forced[0].device in {d.id for d in site.doors}
    assert ledger.verify().ok
    ledger.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_bastion_demo_runs_serves_and_stops_cleanly(tmp_path):
    """The README's first command, time-boxed: badges cross real OSDP; the ledger verifies."""
    data = tmp_path / "demo"
    port = _free_port()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bastion",
            "demo",
            "--data-dir",
            str(data),
            "--port",
            str(port),
            "--duration",
            "15",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"http://127.0.0.1:{port}/console" in proc.stdout
    assert "demo stopped" in proc.stdout
    verify = subprocess.run(
        [sys.executable, "-m", "bastion", "ledger", "verify", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "ledger OK" in verify.stdout
    db = sqlite3.connect(data / "bastion.db")
    decisions = db.execute(
        "SELECT actor, payload FROM ledger_events WHERE type = 'access.decision'"
    ).fetchall()
    secure = db.execute(
        "SELECT count(*) FROM ledger_events WHERE type = 'reader.status' AND payload LIKE '%secure%'"
    ).fetchone()[0]
    db.close()
    # Decisions come from the engine after a card read at a simulated OSDP reader.
    assert decisions, "no badge reached the access engine through OSDP"
    assert all(actor.startswith("device:") and "-rdr-" in actor for actor, _ in decisions)
    assert secure > 0

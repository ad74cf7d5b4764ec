"""The demo's traffic simulator, on the real bus and ledger."""

import asyncio
import signal
import socket
import sqlite3
import subprocess
import sys
import time as time_module
from datetime import time
from pathlib import Path

import pytest

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
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while not any("door_forced" in r.payload for r in ledger.query(types=["alarm.raised"])):
        assert loop.time() < deadline, "no forced door in a simulated night"
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


def _wait_for_rows(db_path: Path, sql: str, proc: subprocess.Popen, within_s: float) -> list:
    """Poll the demo's database until ``sql`` returns rows (the demo keeps running)."""
    deadline = time_module.monotonic() + within_s
    while time_module.monotonic() < deadline:
        assert proc.poll() is None, "the demo exited early"
        if db_path.exists():
            db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
            try:
                rows = db.execute(sql).fetchall()
            except sqlite3.OperationalError:
                rows = []  # the schema is still being created
            finally:
                db.close()
            if rows:
                return rows
        time_module.sleep(0.5)
    raise AssertionError(f"nothing matched within {within_s:.0f} s: {sql}")


def test_bastion_demo_runs_serves_and_stops_cleanly(tmp_path):
    """The README's first command: badges cross real OSDP, Ctrl-C stops it, the ledger verifies.

    The test waits for what it checks (a decision from a simulated reader) rather than for
    a fixed time, so a busy machine only makes it slower.
    """
    data = tmp_path / "demo"
    port = _free_port()
    command = [sys.executable, "-m", "bastion", "demo", "--data-dir", str(data)]
    with (tmp_path / "demo.out").open("w") as out, (tmp_path / "demo.err").open("w") as err:
        proc = subprocess.Popen([*command, "--port", str(port)], stdout=out, stderr=err)
        try:
            decisions = _wait_for_rows(
                data / "bastion.db",
                # The cash demo seeds a history of decisions (detail "demo") at start;
                # wait for one the engine made after a read at a simulated OSDP reader.
                "SELECT actor FROM ledger_events WHERE type = 'access.decision'"
                ' AND payload NOT LIKE \'%"detail":"demo"%\'',
                proc,
                within_s=300,
            )
            proc.send_signal(signal.SIGINT)  # Ctrl-C
            returncode = proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    stdout = (tmp_path / "demo.out").read_text()
    stderr = (tmp_path / "demo.err").read_text()
    assert returncode == 0, stderr
    assert f"http://127.0.0.1:{port}/console" in stdout
    assert "demo stopped" in stdout
    verify = subprocess.run(
        [sys.executable, "-m", "bastion", "ledger", "verify", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "ledger OK" in verify.stdout
    db = sqlite3.connect(data / "bastion.db")
    secure = db.execute(
        "SELECT count(*) FROM ledger_events WHERE type = 'reader.status' AND payload LIKE '%\"secure\":true%'"
    ).fetchone()[0]
    alarms = db.execute(
        "SELECT payload FROM ledger_events WHERE type = 'alarm.raised'"
        ' AND payload LIKE \'%"alarm_type":"device_%\''
    ).fetchall()
    db.close()
    # Decisions come from the engine after a card read at a simulated OSDP reader.
    assert all(actor.startswith("device:") and "-rdr-" in actor for (actor,) in decisions)
    assert secure > 0
    assert alarms == []  # no reader went offline


async def _secure_demo_round(hub, site, folder, keys) -> dict[str, dict]:
    """Start simulated readers and the panel on both buses, wait for all secure, stop."""
    from bastion.integrations.osdp import OsdpConfig, OsdpIntegration

    simulator = SimulatorIntegration()
    panel = OsdpIntegration(key_store=keys)
    await simulator.setup(
        hub, SimulatorConfig(site_id=site.site.id, osdp_folder=folder, step_s=3600, seed=1)
    )
    try:
        assert simulator.readers is not None
        buses = [
            {"name": bus, "transport": "pty", "port": str(lines[0].link)}
            for bus, lines in sorted(simulator.readers.buses().items())
        ]
        await panel.setup(hub, OsdpConfig.model_validate({"site_id": site.site.id, "buses": buses}))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 90
        while not all(s["secure"] and s["key"] == "keyed" for s in panel.status().values()):
            if loop.time() > deadline:
                insecure = {k: v for k, v in panel.status().items() if not v["secure"]}
                raise AssertionError(f"readers not secure: {sorted(insecure)}")
            await asyncio.sleep(0.1)
        return panel.status()
    finally:
        await panel.unload()
        await simulator.unload()


@pytest.mark.slow
async def test_restarting_the_simulated_buses_brings_every_reader_back_secure(database, tmp_path):
    """Both buses use addresses 1…n; each reader must keep its own key across a restart."""
    from bastion import osdp_keys
    from bastion.alarms.runtime import start_alarms
    from bastion.maintenance.runtime import start_device_health
    from bastion.store import crypto

    site = load_site_file(EXAMPLES / "dispensary.yaml")
    ledger = Ledger(database)
    hub = Hub(
        settings=Settings(data_dir=tmp_path), db=database, ledger=ledger, bus=Bus(sink=ledger)
    )
    hub.extras["sites"] = {site.site.id: site}
    keys = osdp_keys.key_store_for(tmp_path, crypto.keyring())
    hub.extras["osdp_keys"] = keys
    alarms = await start_alarms(hub, tick_s=None)
    health = await start_device_health(hub)
    try:
        first = await _secure_demo_round(hub, site, tmp_path / "osdp", keys)
        second = await _secure_demo_round(hub, site, tmp_path / "osdp", keys)
        await hub.bus.drain()
    finally:
        await health.stop()
        await alarms.stop()
        await hub.bus.close()
    assert len(first) == len(second) == 15
    assert ledger.query(types=["alarm.raised"]) == []
    assert not [r for r in ledger.query(types=["device.health"]) if "offline" in r.payload]
    ledger.close()


def test_keys_from_the_shared_folder_move_to_their_bus_and_lost_ones_are_reset(tmp_path):
    from bastion.integrations.osdp import MemoryKeyStore
    from bastion.integrations.simulator.readers import ReaderProcesses, key_folder

    site = load_site_file(EXAMPLES / "dispensary.yaml")
    readers = ReaderProcesses(site, tmp_path)
    store = MemoryKeyStore()
    shared = tmp_path / "sim-keys"
    shared.mkdir()
    # As the old layout left it: bus2 overwrote pd-1.key, so only the dock reader matches.
    store.keys = {"lot-gate-rdr-in": b"\x01" * 16, "dock-door-rdr-in": b"\x02" * 16}
    (shared / "pd-1.key").write_text((b"\x02" * 16).hex())
    reset = readers.reconcile_keys(store)
    assert reset == ["lot-gate-rdr-in"]
    assert store.get("lot-gate-rdr-in") is None  # keyed again in install mode
    assert (key_folder(tmp_path, "bus2") / "pd-1.key").read_text() == (b"\x02" * 16).hex()
    assert not (key_folder(tmp_path, "bus1") / "pd-1.key").exists()
    assert list(shared.glob("pd-*.key")) == []

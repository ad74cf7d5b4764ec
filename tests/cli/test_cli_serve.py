"""'bastion serve' runs the integrations of its configuration file against the real broker."""

from __future__ import annotations

import asyncio
import signal
import socket
import sqlite3
import subprocess
import sys
from asyncio.subprocess import PIPE
from pathlib import Path

import pytest
from ulid import ULID

from tests.monitoring_support import Listener, broker, publish_raw

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
__all__ = ["broker"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rows(db_path: Path, sql: str) -> list[tuple]:
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def _init(data: Path) -> None:
    command = [sys.executable, "-m", "bastion", "init", "--data-dir", str(data)]
    site = ["--site", str(EXAMPLES / "dispensary.yaml")]
    done = subprocess.run([*command, *site], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr


async def _until(predicate, proc: asyncio.subprocess.Process, within_s: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not predicate():
        assert proc.returncode is None, "bastion serve exited early"
        if loop.time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.2)


@pytest.mark.slow
async def test_serve_with_a_config_file_turns_a_sensor_message_into_an_alarm(broker, tmp_path):
    data = tmp_path / "data"
    await asyncio.to_thread(_init, data)
    prefix = f"test/{str(ULID()).lower()}"
    status = f"{prefix}/bastion-status"
    config = data / "bastion.yaml"  # picked up from the data directory by default
    config.write_text(
        "version: 1\n"
        "integrations:\n"
        "  - type: mqtt\n"
        "    site_id: dispensary-main\n"
        f"    topic_prefix: {prefix}/sensors\n"
        f"    client_id: serve-{prefix[-10:]}\n"
        f"    status_topic: {status}\n"
        "    debounce_s: 0\n"
    )
    listener = Listener([status])
    await listener.start()
    command = [sys.executable, "-m", "bastion", "serve", "--data-dir", str(data)]
    proc = await asyncio.create_subprocess_exec(
        *command, "--port", str(_free_port()), stdout=PIPE, stderr=PIPE
    )
    query = "SELECT payload FROM ledger_events WHERE type = 'alarm.raised'"
    try:
        await listener.wait_for(lambda m: (status, "online") in m, limit_s=120)
        await publish_raw(f"{prefix}/sensors/dock-door-dc", b"forced")
        await _until(lambda: _rows(data / "bastion.db", query), proc, within_s=60)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
        await listener.wait_for(lambda m: m[-1] == (status, "offline"), limit_s=30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await listener.stop()
    assert proc.returncode == 0, stderr.decode()
    assert "server stopped" in stdout.decode()
    (alarm,) = _rows(data / "bastion.db", query)
    assert '"door_forced"' in alarm[0] and '"dock-door"' in alarm[0]
    forced = _rows(
        data / "bastion.db", "SELECT actor FROM ledger_events WHERE type = 'door.forced'"
    )
    assert forced == [("device:dock-door-dc",)]


def test_serve_refuses_a_config_naming_an_unknown_site(tmp_path):
    data = tmp_path / "data"
    _init(data)
    config = tmp_path / "other.yaml"
    config.write_text("integrations:\n  - {type: mqtt, site_id: nowhere}\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bastion",
            "serve",
            "--data-dir",
            str(data),
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 2
    assert "other.yaml" in result.stderr and "unknown site 'nowhere'" in result.stderr
    assert "Traceback" not in result.stderr

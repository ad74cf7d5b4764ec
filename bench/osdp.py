"""Benchmark the OSDP reader leg: card at the reader → strike OUT at the reader.

Our control panel (libosdp in a worker thread, secure channel on) drives
simulated libosdp readers in another process over a pty paced at the baud rate,
with 1 and 8 readers on the line at 9600 and 115200 baud. In the same run, the
PyPI ``osdp`` control panel (own venv under .bench-venvs/, own process) does
command round trips (OUT) against the same kind of reader. Times come from the
reader process's clock: "presented" to "OUT received".
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
# This file is named osdp.py: keep its folder off sys.path so `import osdp` finds libosdp.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT / "tests" / "integrations" / "osdp"))

from osdp_support import (  # noqa: E402
    CARD_GRANTED,
    DictDecider,
    FakeHub,
    SimProcess,
    is_command,
    make_site,
    with_baud,
)

from bastion.core.bus import Bus  # noqa: E402
from bastion.integrations.osdp import MemoryKeyStore, OsdpConfig, OsdpIntegration  # noqa: E402

PEER_VENV = ROOT / ".bench-venvs" / "osdp-pypi"
OUT = 1


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


async def run_ours(baud: int, readers: int, samples: int) -> list[float]:
    site = with_baud(make_site(readers), baud)
    args = [a for i in range(1, readers + 1) for a in ("-a", str(i))]
    sim = await asyncio.to_thread(SimProcess, [*args, "--baud", str(baud)])
    bus = Bus()
    hub = FakeHub(bus=bus, access=DictDecider(), extras={"sites": {"test-site": site}})
    cfg = OsdpConfig.model_validate(
        {
            "type": "osdp",
            "site_id": "test-site",
            "buses": [{"name": "bus1", "transport": "pty", "port": sim.path}],
            "log_level": "error",
        }
    )
    integration = OsdpIntegration(key_store=MemoryKeyStore())
    await integration.setup(hub, cfg)
    latencies: list[float] = []
    try:
        deadline = time.monotonic() + 60
        while not all(s["secure"] and s["key"] == "keyed" for s in integration.status().values()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"readers not secure: {integration.status()}")
            await asyncio.sleep(0.05)
        from osdp_support import OsdpEnv  # grant helper

        env = OsdpEnv(sim, integration, hub, [], MemoryKeyStore(), site)
        env.grant(CARD_GRANTED)
        rng = random.Random(7)
        for _ in range(samples):
            addr = rng.randint(1, readers)
            mark = sim.mark()
            sim.send(f"card @{addr} {CARD_GRANTED}")
            presented = await sim.await_for(
                lambda r, a=addr: r["kind"] == "presented" and r["addr"] == a, start=mark
            )
            out = await sim.await_for(is_command(OUT, addr, control_code=5), within=10, start=mark)
            latencies.append((out["t"] - presented["t"]) * 1000)
            await asyncio.sleep(rng.uniform(0.15, 0.35))  # new poll phase each time
    finally:
        await integration.unload()
        await bus.close()
        await asyncio.to_thread(sim.close)
    return latencies


PEER_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from osdp import ControlPanel, SerialPortOsdpConnection, OutputControls, OutputControl
    from osdp import OutputControlCode
    path, baud, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    cp = ControlPanel()
    cid = cp.start_connection(SerialPortOsdpConnection(path, baud))
    cp.add_device(cid, 1, use_crc=True, use_secure_channel=False)
    end = time.monotonic() + 30
    while not cp.is_online(cid, 1) and time.monotonic() < end:
        time.sleep(0.1)
    times = []
    for _ in range(n):
        t0 = time.monotonic()
        ok = cp.output_control(cid, 1, OutputControls([
            OutputControl(0, OutputControlCode.TemporaryStateOnResumePermanentState, 30)]))
        if ok:
            times.append((time.monotonic() - t0) * 1000)
    cp.shutdown()
    print(json.dumps(times))
    """
)


def ensure_peer() -> Path | None:
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "osdp", "pyserial"], check=True)
    return python


def run_peer(baud: int, samples: int) -> list[float]:
    python = ensure_peer()
    assert python is not None
    sim = SimProcess(["-a", "1", "--baud", str(baud), "--plain"])
    try:
        script = PEER_VENV / "osdp_peer_bench.py"
        script.write_text(PEER_SCRIPT)
        proc = subprocess.run(
            [str(python), str(script), sim.path, str(baud), str(samples)],
            capture_output=True,
            text=True,
            timeout=300,
            cwd="/",
        )
        lines = [line for line in proc.stdout.splitlines() if line.startswith("[")]
        if not lines:
            print(f"peer failed: {proc.stderr[-500:]}", file=sys.stderr)
            return []
        return list(json.loads(lines[-1]))
    finally:
        sim.close()


def main() -> None:
    rows = []
    results: dict[tuple[int, int], list[float]] = {}
    for baud, readers, samples in ((115200, 1, 100), (115200, 8, 60), (9600, 1, 60), (9600, 8, 60)):
        lat = asyncio.run(run_ours(baud, readers, samples))
        results[(baud, readers)] = lat
        rows.append(("bastion (libosdp CP, SC)", baud, readers, lat))
    peer = run_peer(9600, 20)
    rows.append(("PyPI osdp CP, OUT round trip", 9600, 1, peer))
    print(
        f"{'control panel':32} {'baud':>6} {'PDs':>3} {'n':>4} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    )
    for name, baud, readers, lat in rows:
        if lat:
            print(
                f"{name:32} {baud:>6} {readers:>3} {len(lat):>4} {statistics.median(lat):>8.1f}"
                f" {pct(lat, 99):>8.1f} {max(lat):>8.1f}"
            )
        else:
            print(f"{name:32} {baud:>6} {readers:>3} {0:>4} {'n/a':>8}")
    ours_fast = pct(results[(115200, 1)], 99)
    ours_slow = pct(results[(9600, 8)], 99)
    peer_med = statistics.median(peer) if peer else float("nan")
    print(
        f"OSDP p99_ms_115200={ours_fast:.1f} p99_ms_9600_8pd={ours_slow:.1f}"
        f" peer_roundtrip_ms={peer_med:.1f}"
    )


if __name__ == "__main__":
    main()

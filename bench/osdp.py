"""Benchmark the OSDP reader leg: card at the reader → strike OUT at the reader.

Our control panel (libosdp in a worker thread, secure channel on) drives
simulated libosdp readers in another process over a pty paced at the baud rate,
with 1 and 8 readers on the line at 9600 and 115200 baud. In the same run, the
PyPI ``osdp`` control panel (own venv under .bench-venvs/, own process) does
command round trips (OUT) against the same kind of reader. Times come from the
reader process's clock: "presented" to "OUT received". A sample whose strike never comes is
counted as timed out, not fatal. Then the demo's two buses (6 readers at 38400 baud, 9 at
115200) are kept secure for ``BENCH_SOAK_S`` seconds (default 60): link drops per minute,
late replies dropped as stale, and libosdp's error lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

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
from bastion.core.events import Event, ReaderStatusPayload  # noqa: E402
from bastion.integrations.osdp import MemoryKeyStore, OsdpConfig, OsdpIntegration  # noqa: E402
from bastion.site.schemas import Site  # noqa: E402

PEER_VENV = ROOT / ".bench-venvs" / "osdp-pypi"
OUT = 1
SECURE_WITHIN_S = 60.0
SOAK_S = float(os.environ.get("BENCH_SOAK_S", "60"))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


@dataclass
class Run:
    """What one configuration measured, and what (if anything) timed out."""

    latencies: list[float] = field(default_factory=list)
    timeouts: int = 0
    problem: str = ""


async def run_ours(baud: int, readers: int, samples: int) -> Run:
    """Badge ``samples`` times; a sample whose strike never comes is counted, not fatal."""
    run = Run()
    site = with_baud(make_site(readers), baud)
    args = [a for i in range(1, readers + 1) for a in ("-a", str(i))]
    try:
        sim = await asyncio.to_thread(SimProcess, [*args, "--baud", str(baud)])
    except AssertionError:
        run.problem = "the simulated readers did not start within 20 s"
        return run
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
    try:
        if not await all_secure(integration, within_s=SECURE_WITHIN_S):
            run.problem = f"readers not secure after {SECURE_WITHIN_S:.0f} s"
            return run
        from osdp_support import OsdpEnv  # grant helper

        env = OsdpEnv(sim, integration, hub, [], MemoryKeyStore(), site)
        env.grant(CARD_GRANTED)
        rng = random.Random(7)
        for _ in range(samples):
            addr = rng.randint(1, readers)
            mark = sim.mark()
            sim.send(f"card @{addr} {CARD_GRANTED}")
            try:
                presented = await sim.await_for(
                    lambda r, a=addr: r["kind"] == "presented" and r["addr"] == a, start=mark
                )
                out = await sim.await_for(
                    is_command(OUT, addr, control_code=5), within=10, start=mark
                )
            except AssertionError:  # SimProcess.wait_for: no strike within 10 s
                run.timeouts += 1
                continue
            run.latencies.append((out["t"] - presented["t"]) * 1000)
            await asyncio.sleep(rng.uniform(0.15, 0.35))  # new poll phase each time
    finally:
        await integration.unload()
        await bus.close()
        await asyncio.to_thread(sim.close)
    return run


async def all_secure(integration: OsdpIntegration, *, within_s: float) -> bool:
    """Wait until every reader is online, secure and keyed; return whether that happened."""
    deadline = time.monotonic() + within_s
    while not all(s["secure"] and s["key"] == "keyed" for s in integration.status().values()):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


@dataclass
class Soak:
    """Link stability of the demo's two buses over a while."""

    seconds: float
    readers: int = 0
    drops: int = 0
    stale: int = 0
    libosdp_errors: int = 0
    problem: str = ""

    @property
    def drops_per_min(self) -> float:
        return self.drops * 60 / self.seconds


def demo_buses_site() -> Site:
    """Return a site wired like the demo: 6 readers at 38400 baud and 9 at 115200."""
    doors: list[dict[str, Any]] = []
    devices: list[dict[str, Any]] = []
    for bus, count, baud in (("bus1", 6, 38400), ("bus2", 9, 115200)):
        for address in range(1, count + 1):
            door = f"{bus}-door-{address}"
            doors.append({"id": door, "name": door, "from": "outside", "to": "lobby"})
            reader = {"bus": bus, "address": address, "baud": baud}
            devices.append(
                {"id": f"{bus}-rdr-{address}", "type": "reader", "door": door, "osdp": reader}
            )
    return Site.model_validate(
        {
            "site": {"id": "soak", "name": "Soak", "timezone": "UTC"},
            "zones": [{"id": "lobby", "name": "Lobby", "layer": "building"}],
            "doors": doors,
            "devices": devices,
        }
    )


@contextlib.contextmanager
def stderr_to(log: IO[bytes]) -> Iterator[None]:
    """Send this process's stderr (where libosdp logs its errors) to ``log`` meanwhile."""
    saved = os.dup(2)
    os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


async def run_soak(seconds: float) -> Soak:
    """Keep the demo's two buses secure for ``seconds``; count link drops and stale replies."""
    soak = Soak(seconds)
    with tempfile.TemporaryFile() as log:
        with stderr_to(log):
            try:
                await _soak(soak, log)
            except AssertionError:  # SimProcess: no "ready" line
                soak.problem = "the simulated readers did not start within 20 s"
        log.seek(0)
        soak.libosdp_errors = log.read().count(b"[ERROR]")
    return soak


async def _soak(soak: Soak, log: IO[bytes]) -> None:
    site = demo_buses_site()
    sims: dict[str, SimProcess] = {}
    try:
        for bus, count, baud in (("bus1", 6, 38400), ("bus2", 9, 115200)):
            addresses = [a for i in range(1, count + 1) for a in ("-a", str(i))]
            sims[bus] = await asyncio.to_thread(SimProcess, [*addresses, "--baud", str(baud)])
        events: list[Event[Any]] = []
        bus_ = Bus()
        bus_.subscribe(events.append)
        hub = FakeHub(bus=bus_, access=DictDecider(), extras={"sites": {"soak": site}})
        buses = [{"name": b, "transport": "pty", "port": sims[b].path} for b in sorted(sims)]
        integration = OsdpIntegration(key_store=MemoryKeyStore())
        await integration.setup(hub, OsdpConfig.model_validate({"site_id": "soak", "buses": buses}))
        try:
            soak.readers = len(integration.status())
            if not await all_secure(integration, within_s=SECURE_WITHIN_S):
                soak.problem = f"readers not secure after {SECURE_WITHIN_S:.0f} s"
                return
            log.seek(0)
            log.truncate()  # keying on first start logs failed cryptograms: not counted
            mark = len(events)
            await asyncio.sleep(soak.seconds)
            await bus_.drain()
            soak.drops = sum(
                1
                for e in events[mark:]
                if isinstance(e.payload, ReaderStatusPayload) and not e.payload.online
            )
            soak.stale = sum(c["stale"] for c in integration.bus_counters().values())
        finally:
            await integration.unload()
            await bus_.close()
    finally:
        for sim in sims.values():
            await asyncio.to_thread(sim.close)


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


def summary(values: list[float]) -> tuple[str, str, str]:
    """Return p50, p99 and max as table cells ("n/a" when nothing was measured)."""
    if not values:
        return "n/a", "n/a", "n/a"
    return (f"{statistics.median(values):.1f}", f"{pct(values, 99):.1f}", f"{max(values):.1f}")


def main() -> None:
    rows: list[tuple[str, int, int, Run]] = []
    results: dict[tuple[int, int], Run] = {}
    for baud, readers, samples in ((115200, 1, 100), (115200, 8, 60), (9600, 1, 60), (9600, 8, 60)):
        run = asyncio.run(run_ours(baud, readers, samples))
        results[(baud, readers)] = run
        rows.append(("bastion (libosdp CP, SC)", baud, readers, run))
    try:
        peer = Run(latencies=run_peer(9600, 20))
    except (OSError, subprocess.SubprocessError, AssertionError) as exc:
        peer = Run(problem=f"peer could not run: {exc}")
    rows.append(("PyPI osdp CP, OUT round trip", 9600, 1, peer))
    print(
        f"{'control panel':32} {'baud':>6} {'PDs':>3} {'n':>4} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'max ms':>8} {'timed out':>9}"
    )
    for name, baud, readers, run in rows:
        p50, p99, top = summary(run.latencies)
        print(
            f"{name:32} {baud:>6} {readers:>3} {len(run.latencies):>4} {p50:>8} {p99:>8}"
            f" {top:>8} {run.timeouts:>9}" + (f"  ({run.problem})" if run.problem else "")
        )
    soak = asyncio.run(run_soak(SOAK_S))
    print()
    print(f"Link stability: the demo's two buses ({soak.readers} readers, secure), {SOAK_S:.0f} s")
    print(
        f"{'link drops':>10} {'drops/min':>9} {'stale replies dropped':>22} {'libosdp errors':>15}"
    )
    print(
        f"{soak.drops:>10} {soak.drops_per_min:>9.1f} {soak.stale:>22} {soak.libosdp_errors:>15}"
        + (f"  ({soak.problem})" if soak.problem else "")
    )
    fast = summary(results[(115200, 1)].latencies)[1]
    slow = summary(results[(9600, 8)].latencies)[1]
    peer_med = summary(peer.latencies)[0]
    timeouts = sum(run.timeouts for _, _, _, run in rows)
    print(
        f"OSDP p99_ms_115200={fast} p99_ms_9600_8pd={slow} peer_roundtrip_ms={peer_med}"
        f" timed_out={timeouts} drops_per_min={soak.drops_per_min:.1f}"
    )


if __name__ == "__main__":
    main()

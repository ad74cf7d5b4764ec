"""Cause-and-effect response benchmark: forced door → ledger commit → rule → 2 locks + notify.

Ours: a real SQLite ledger in a temporary directory (WAL, synchronous=FULL, as shipped);
every event — the forced door, both lock commands and the notification — is committed
to the hash-chained ledger before anyone sees it. Latency is from ``bus.publish`` of the
forced-door event to delivery of the notification (the last event of the rule's outbox).

Peer: Home Assistant 2024.3.3 in its own venv (``.bench-venvs/ha``, installed on first
run) and its own process: a state trigger → two service calls, no recorder.

Prints one table; the last line is ``RESPONSE p99_ms=… ha_p50_ms=… events_per_s=… held=…``:
the best rate held within p99 <= 100 ms and 95 % delivered (``held=yes``), or on a machine
too busy to hold even the lowest rate, the best rate achieved (``held=no``) rather than 0.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from bastion.automation.config import parse_rules  # noqa: E402
from bastion.automation.engine import RuleEngine  # noqa: E402
from bastion.automation.state import RuleEnv  # noqa: E402
from bastion.automation.trace import TraceStore  # noqa: E402
from bastion.core.bus import Bus  # noqa: E402
from bastion.core.context import Context  # noqa: E402
from bastion.core.events import EVENT_DOOR_FORCED, EVENT_NOTIFY, DoorPayload, Event  # noqa: E402
from bastion.store import crypto  # noqa: E402
from bastion.store.db import Database  # noqa: E402
from bastion.store.ledger import Ledger  # noqa: E402

HA_VENV = ROOT / ".bench-venvs" / "ha"
HA_VERSION = "2024.3.3"
RULE_COUNTS = (10, 100, 1000)
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "400"))
RATES = (1000, 2000, 3000, 5000, 7500, 10000, 15000, 20000)
TIMEOUT_S = 30.0  # one event's whole chain; beyond this it is reported as timed out
P99_LIMIT_MS = 100.0
DELIVERED = 0.95


def pct(values: list[float], q: float) -> float:
    """Return the q-th percentile (0–100) of ``values``."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def p50_p99(values: list[float]) -> tuple[float, float]:
    """Return (median, p99), or NaNs when every sample timed out."""
    if not values:
        return float("nan"), float("nan")
    return statistics.median(values), pct(values, 99)


def rules_yaml(count: int) -> str:
    """Return ``count`` rules, one per door, each locking its two neighbours and notifying."""
    lines = ["version: 1", "rules:"]
    for i in range(count):
        lines += [
            f"  - id: forced-{i}",
            "    mode: parallel",
            "    max_runs: 1000",
            "    triggers:",
            f"      - {{kind: event, event_type: door.forced, filter: {{door_id: d{i}}}}}",
            "    actions:",
            f"      - {{action: lock_door, doors: [d{i}-left, d{i}-right]}}",
            "      - {action: notify, roles: [guard], message: 'door {door_id} forced'}",
        ]
    return "\n".join(lines) + "\n"


class Ours:
    """Our stack on a fresh SQLite ledger."""

    def __init__(self, directory: Path, count: int, *, ledger: bool = True) -> None:
        self.db = Database(f"sqlite:///{directory / f'bench-{count}-{ledger}.db'}")
        self.db.migrate()
        self.ledger = Ledger(self.db)
        self.bus = Bus(sink=self.ledger if ledger else None)
        self.engine = RuleEngine(RuleEnv(), bus=self.bus, traces=TraceStore(self.db))
        self.engine.load(parse_rules(rules_yaml(count)).rules)
        self.count = count
        self.waiting: dict[str, tuple[float, asyncio.Future[float]]] = {}
        self.timed_out = 0

    def on_notify(self, event: Event[Any]) -> None:
        entry = self.waiting.pop(event.context.parent_id or "", None)
        if entry is not None and not entry[1].done():
            entry[1].set_result(time.perf_counter() - entry[0])

    async def start(self) -> None:
        self.engine.start()
        self.bus.subscribe(self.on_notify, types=[EVENT_NOTIFY])

    async def one(self, i: int) -> float:
        ctx = Context(actor="device:bench")
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting[ctx.id] = (time.perf_counter(), future)
        await self.bus.publish(
            EVENT_DOOR_FORCED,
            DoorPayload(door_id=f"d{i % self.count}", state="forced"),
            context=ctx,
        )
        try:
            return await asyncio.wait_for(future, TIMEOUT_S)
        finally:
            self.waiting.pop(ctx.id, None)

    async def latency(self, samples: int) -> list[float]:
        results: list[float] = []
        for i in range(50 + samples):  # the first 50 warm up
            try:
                elapsed = await self.one(i)
            except TimeoutError:
                self.timed_out += 1
                continue
            if i >= 50:
                results.append(elapsed * 1000)
        return results

    async def sustained(self, rate: int, seconds: float = 1.5) -> tuple[float, float]:
        """Offer ``rate`` events/s for ``seconds``; return (achieved events/s, p99 ms)."""
        total = int(rate * seconds)
        tasks: list[asyncio.Task[float]] = []
        start = time.perf_counter()
        batch = max(1, rate // 200)  # pace in 5 ms slices
        for i in range(0, total, batch):
            for j in range(i, min(total, i + batch)):
                tasks.append(asyncio.create_task(self.one(j)))
            due = start + (i + batch) / rate
            delay = due - time.perf_counter()
            await asyncio.sleep(max(0.0, delay))
        results = await asyncio.gather(*tasks, return_exceptions=True)
        elapsed = time.perf_counter() - start
        await self.engine.traces.flush()
        done = [r * 1000 for r in results if isinstance(r, float)]
        self.timed_out += total - len(done)
        return len(done) / elapsed, pct(done, 99) if done else float("inf")

    async def close(self) -> None:
        await self.engine.stop()
        await self.bus.close()
        self.ledger.close()
        rows = self.ledger.count()
        ok = self.ledger.verify().ok
        self.db.dispose()
        self.rows, self.chain_ok = rows, ok


HA_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys, tempfile, time, logging
    logging.disable(logging.CRITICAL)
    from homeassistant import bootstrap, config_entries, core, loader
    from homeassistant.setup import async_setup_component

    async def run(count, samples):
        hass = core.HomeAssistant(tempfile.mkdtemp())
        loader.async_setup(hass)
        hass.config.skip_pip = True
        hass.config_entries = config_entries.ConfigEntries(hass, {})
        await bootstrap.async_load_base_functionality(hass)
        await async_setup_component(hass, "homeassistant", {})
        state = {"calls": 0, "done": None}
        async def lock(call):
            state["calls"] += 1
            if state["calls"] % 2 == 0:
                state["done"].set()
        hass.services.async_register("bench", "lock", lock)
        automations = [
            {"alias": f"forced {i}", "mode": "parallel", "max": 1000,
             "trigger": {"platform": "state", "entity_id": f"binary_sensor.door_{i}_forced", "to": "on"},
             "action": [{"service": "bench.lock", "data": {"door": f"d{i}-left"}},
                        {"service": "bench.lock", "data": {"door": f"d{i}-right"}}]}
            for i in range(count)
        ]
        t0 = time.perf_counter()
        assert await async_setup_component(hass, "automation", {"automation": automations})
        await hass.async_start()
        await hass.async_block_till_done()
        setup_s = time.perf_counter() - t0
        lat = []
        for n in range(samples + 50):
            entity = f"binary_sensor.door_{n % count}_forced"
            hass.states.async_set(entity, "off")
            await hass.async_block_till_done()
            state["done"] = asyncio.Event()
            t = time.perf_counter()
            hass.states.async_set(entity, "on")
            await state["done"].wait()
            if n >= 50:
                lat.append((time.perf_counter() - t) * 1000)
        await hass.async_stop()
        return lat, setup_s

    counts = [int(c) for c in sys.argv[1].split(",")]
    samples = int(sys.argv[2])
    out = {}
    for count in counts:
        lat, setup_s = asyncio.run(run(count, samples))
        lat.sort()
        out[count] = {"p50": lat[len(lat) // 2], "p99": lat[int(len(lat) * 0.99) - 1], "setup_s": setup_s}
    print(json.dumps(out))
    """
)


def ensure_ha() -> Path | None:
    """Install Home Assistant into its own venv when it is missing; return its python."""
    python = HA_VENV / "bin" / "python"
    probe = [str(python), "-c", "import homeassistant.const as c; print(c.__version__)"]
    if python.exists():
        found = subprocess.run(probe, capture_output=True, text=True, check=False)
        if found.returncode == 0 and found.stdout.strip() == HA_VERSION:
            return python
    print(f"installing Home Assistant {HA_VERSION} into {HA_VENV} (slow, once) …", file=sys.stderr)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(HA_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", f"homeassistant=={HA_VERSION}"], check=True
        )
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"Home Assistant could not be installed: {exc}", file=sys.stderr)
        return None
    return python


def run_ha(counts: tuple[int, ...], samples: int) -> dict[int, dict[str, float]]:
    """Run the HA automation in its own process; return p50/p99 per automation count."""
    python = ensure_ha()
    if python is None:
        return {}
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
        handle.write(HA_SCRIPT)
        script = handle.name
    try:
        done = subprocess.run(
            [str(python), script, ",".join(map(str, counts)), str(samples)],
            capture_output=True,
            text=True,
            check=False,
            timeout=1800,
        )
    finally:
        os.unlink(script)
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
        return {}
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return {int(k): v for k, v in data.items()}


async def run_ours(
    directory: Path,
) -> tuple[dict[int, tuple[float, float]], float, list[tuple[int, float, float]], int, bool]:
    """Measure latency per rule count and the sustained rate at 1,000 rules."""
    latencies: dict[int, tuple[float, float]] = {}
    for count in RULE_COUNTS:
        ours = Ours(directory, count)
        await ours.start()
        lat = await ours.latency(SAMPLES)
        latencies[count] = p50_p99(lat)
        await ours.close()
    bare = Ours(directory, max(RULE_COUNTS), ledger=False)
    await bare.start()
    lat = await bare.latency(SAMPLES)
    latencies[-max(RULE_COUNTS)] = p50_p99(lat)
    await bare.close()
    ours = Ours(directory, max(RULE_COUNTS))
    await ours.start()
    await ours.latency(50)
    sweep: list[tuple[int, float, float]] = []
    for rate in RATES:
        achieved, p99 = await ours.sustained(rate)
        sweep.append((rate, achieved, p99))
        if p99 > P99_LIMIT_MS or achieved < DELIVERED * rate:
            break
    await ours.close()
    return latencies, sweep, ours.rows, ours.chain_ok, ours.timed_out


def sustained_rate(sweep: list[tuple[int, float, float]]) -> tuple[float, bool]:
    """Return the best rate held within the limits, or (when none was) the best achieved."""
    held = [achieved for rate, achieved, p99 in sweep if within_limits(rate, achieved, p99)]
    if held:
        return max(held), True
    return max((achieved for _, achieved, _ in sweep), default=0.0), False


def within_limits(rate: int, achieved: float, p99: float) -> bool:
    """Return whether an offered rate was delivered (95 %) with p99 under the limit."""
    return p99 <= P99_LIMIT_MS and achieved >= DELIVERED * rate


def main() -> None:
    """Run both sides and print the table."""
    crypto.configure(crypto.KeyRing([os.urandom(32)]))
    with tempfile.TemporaryDirectory() as tmp:
        latencies, sweep, rows, chain_ok, timed_out = asyncio.run(run_ours(Path(tmp)))
    sustained, held = sustained_rate(sweep)
    ha = run_ha(RULE_COUNTS, SAMPLES)
    print("Forced door → ledger commit → rule → 2 lock commands + notification")
    print(f"{'system':<34}{'rules':>7}{'p50 ms':>10}{'p99 ms':>10}")
    for count, (p50, p99) in latencies.items():
        name = "Bastion (SQLite WAL ledger)" if count > 0 else "Bastion, no ledger (diagnostic)"
        print(f"{name:<34}{abs(count):>7}{p50:>10.3f}{p99:>10.3f}")
    for count, values in ha.items():
        print(
            f"{'Home Assistant ' + HA_VERSION + ' (no DB)':<34}{count:>7}{values['p50']:>10.3f}{values['p99']:>10.3f}"
        )
    print()
    print("Sustained load at 1,000 rules (4 ledger rows per forced-door event)")
    print(f"{'offered ev/s':>12}{'achieved ev/s':>15}{'p99 ms':>10}  within limits")
    for rate, achieved, p99 in sweep:
        ok = "yes" if within_limits(rate, achieved, p99) else "no"
        print(f"{rate:>12}{achieved:>15.0f}{p99:>10.2f}  {ok}")
    print(f"ledger rows written in the sustained run: {rows}; chain verifies: {chain_ok}")
    if timed_out:
        print(f"{timed_out} events got no notification within {TIMEOUT_S:.0f} s (timed out)")
    if not held:
        print(
            f"no offered rate was held (p99 <= {P99_LIMIT_MS:.0f} ms, {DELIVERED:.0%} delivered):"
            " events_per_s is the best rate achieved, on a machine this busy"
        )
    ours_p99 = latencies[max(RULE_COUNTS)][1]
    ha_p50 = min((v["p50"] for v in ha.values()), default=float("nan"))
    print(
        f"RESPONSE p99_ms={ours_p99:.3f} ha_p50_ms={ha_p50:.3f} events_per_s={sustained:.0f}"
        f" held={'yes' if held else 'no'}"
    )


if __name__ == "__main__":
    main()

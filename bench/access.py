"""Benchmark the access decision engine against PyCasbin on synthetic sites.

Run: .venv/bin/python bench/access.py [--quick]

Builds synthetic sites (1k/10k/100k cardholders, 100–5,000 doors, 100–10,000 level
rules with schedules, anti-passback areas and a threat level), measures p50/p99 per
decision, decisions per second on one core, snapshot memory (tracemalloc) and
revoke-to-first-deny latency; then runs PyCasbin 2.8.0 in its own venv
(.bench-venvs/casbin, created when missing) in a subprocess on the equivalent RBAC
policy (level = role, door = object) at 100, 1,000 and 10,000 rules. Prints one table;
the last line is the summary.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bastion.access.engine import AccessEngine
from bastion.access.snapshot import (
    AntiPassbackMode,
    AntiPassbackSpec,
    CredentialKind,
    CredentialSpec,
    LevelSpec,
    PersonSpec,
    Policy,
)
from bastion.core.clock import FrozenClock
from bastion.core.ports import Presentation, PresentationKind
from bastion.site.schemas import Site

ROOT = Path(__file__).resolve().parents[1]
CASBIN_VENV = ROOT / ".bench-venvs" / "casbin"
START = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)  # Monday morning in Chicago
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def build_site(doors: int, rng: random.Random) -> Site:
    """Return a synthetic site: a zone per ten doors, doors between random zones, 20 schedules."""
    n_zones = max(10, doors // 10)
    zones = [{"id": f"z{i}", "name": f"Zone {i}", "layer": "interior"} for i in range(n_zones)]
    door_list = []
    for i in range(doors):
        a = rng.randrange(n_zones)
        b = (a + 1 + rng.randrange(n_zones - 1)) % n_zones
        door_list.append({"id": f"d{i}", "name": f"Door {i}", "from": f"z{a}", "to": f"z{b}"})
    schedules = []
    for i in range(20):
        start = rng.randrange(0, 8)
        schedules.append(
            {
                "id": f"s{i}",
                "name": f"Schedule {i}",
                "intervals": [
                    {
                        "days": rng.sample(DAYS, rng.randint(3, 7)),
                        "start": f"{start:02d}:00",
                        "end": f"{start + rng.randint(8, 14):02d}:00",
                    }
                ],
                "holidays": ["h"],
            }
        )
    return Site.model_validate(
        {
            "site": {"id": "bench", "name": "Bench", "timezone": "America/Chicago"},
            "zones": zones,
            "doors": door_list,
            "schedules": schedules,
            "holiday_sets": [
                {"id": "h", "holidays": [{"date": "2026-07-04", "name": "Independence Day"}]}
            ],
        }
    )


def build_policy(site: Site, people: int, rules: int, rng: random.Random) -> Policy:
    """Return levels (5 doors each, a schedule most of the time) and cardholders with 1–3 levels."""
    doors = [d.id for d in site.doors]
    levels = tuple(
        LevelSpec(
            f"l{i}",
            "bench",
            schedule_id=f"s{rng.randrange(20)}" if rng.random() < 0.8 else None,
            doors=tuple(rng.sample(doors, 5)),
            max_threat_level=rng.choice([0, 1, 1, 2]),
        )
        for i in range(rules)
    )
    persons = tuple(
        PersonSpec(
            f"p{i}",
            role=rng.choice(["staff", "manager", "guard"]),
            levels=tuple(f"l{rng.randrange(rules)}" for _ in range(rng.randint(1, 3))),
        )
        for i in range(people)
    )
    creds = tuple(
        CredentialSpec(f"c{i}", f"p{i}", CredentialKind.CARD, card_hash=f"{i:064x}")
        for i in range(people)
    )
    apb = tuple(
        AntiPassbackSpec("bench", f"z{i}", AntiPassbackMode.SOFT)
        for i in range(0, len(site.zones), 7)
    )
    return Policy(people=persons, credentials=creds, levels=levels, anti_passback=apb)


def presentations(
    engine: AccessEngine, policy: Policy, count: int, rng: random.Random
) -> list[Presentation]:
    """Half the reads at a door the holder's level names, half at a random door."""
    doors = [k for k in engine.snapshot.doors if "/" not in k]
    levels = {lv.id: lv for lv in policy.levels}
    out = []
    for i in range(count):
        person = rng.choice(policy.people)
        if i % 2 == 0:
            door = rng.choice(levels[rng.choice(person.levels)].doors)
        else:
            door = rng.choice(doors)
        out.append(
            Presentation(
                door_id=door,
                reader_id=None,
                kind=PresentationKind.CARD,
                card_hash=f"{int(person.id[1:]):064x}",
                time=START + timedelta(seconds=37 * i),
            )
        )
    return out


def percentile(values: list[float], q: float) -> float:
    """Return the q-th percentile (0–100) of sorted ``values``."""
    index = min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))
    return values[index]


def measure_ours(
    people: int, doors: int, rules: int, decisions: int, seed: int = 7
) -> dict[str, float]:
    """Build the snapshot and time single decisions, a tight loop, and revocations."""
    rng = random.Random(seed)
    site = build_site(doors, rng)
    policy = build_policy(site, people, rules, rng)
    engine = AccessEngine(clock=FrozenClock(START))
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    t0 = time.perf_counter()
    engine.load([site], policy)
    build_s = time.perf_counter() - t0
    memory_mb = (tracemalloc.get_traced_memory()[0] - base) / 1e6
    tracemalloc.stop()
    engine.set_threat_level("bench", 1)
    reads = presentations(engine, policy, decisions, rng)
    gc.collect()
    gc.freeze()  # long-lived snapshot objects are never scanned again, as in a service
    decide = engine.decide
    queue = engine._queue
    clock = time.perf_counter_ns
    samples: list[float] = []
    granted = 0
    for start in range(0, len(reads), 1000):
        for p in reads[start : start + 1000]:
            t = clock()
            verdict = decide(p)
            samples.append((clock() - t) / 1000)
            granted += verdict.granted
        queue.clear()  # the ledger pump drains the queue off the decision path
    samples.sort()
    t = time.perf_counter()
    for start in range(0, len(reads), 1000):
        for p in reads[start : start + 1000]:
            decide(p)
        queue.clear()
    rate = len(reads) / (time.perf_counter() - t)
    revoke = []
    for i in range(200):
        cid = f"c{rng.randrange(people)}"
        if engine.snapshot.creds[cid].revoked:
            continue
        p = Presentation(
            door_id=reads[i].door_id,
            reader_id=None,
            kind=PresentationKind.CARD,
            card_hash=engine.snapshot.creds[cid].card_hash,
            time=START,
        )
        t = time.perf_counter()
        engine.revoke_credential(cid)
        verdict = decide(p)
        revoke.append((time.perf_counter() - t) * 1000)
        assert verdict.reason == "revoked"
    queue.clear()
    gc.unfreeze()
    return {
        "p50": statistics.median(samples),
        "p99": percentile(samples, 99),
        "rate": rate,
        "memory_mb": memory_mb,
        "build_s": build_s,
        "revoke_ms": statistics.median(revoke),
        "granted": granted / len(reads),
    }


CASBIN_MODEL = """
[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act
"""

CASBIN_SCRIPT = r"""
import json, random, sys, time, statistics
import casbin
model_path, rules, checks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(7)
doors = max(100, rules // 2)
e = casbin.Enforcer(model_path)
for i in range(rules):
    e.add_policy(f"l{i}", f"d{rng.randrange(doors)}", "open")
for u in range(rules):
    e.add_grouping_policy(f"u{u}", f"l{rng.randrange(rules)}")
samples = []
for _ in range(checks):
    sub, obj = f"u{rng.randrange(rules)}", f"d{rng.randrange(doors)}"
    t = time.perf_counter_ns()
    e.enforce(sub, obj, "open")
    samples.append((time.perf_counter_ns() - t) / 1000)
samples.sort()
print(json.dumps({"p50": statistics.median(samples), "p99": samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))], "rate": 1e6 / statistics.mean(samples)}))
"""


def casbin_python() -> Path:
    """Return the casbin venv's python, creating the venv with pycasbin 2.8.0 when missing."""
    python = CASBIN_VENV / "bin" / "python"
    if not python.exists():
        print("creating", CASBIN_VENV, "with pycasbin==2.8.0 …", file=sys.stderr)
        subprocess.run(["python3.11", "-m", "venv", str(CASBIN_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "pycasbin==2.8.0"], check=True)
    return python


def measure_casbin(rules: int, checks: int) -> dict[str, float]:
    """Run PyCasbin in its own venv and process on an RBAC policy of ``rules`` p-rules."""
    with tempfile.TemporaryDirectory() as folder:
        model = Path(folder) / "model.conf"
        model.write_text(CASBIN_MODEL)
        script = Path(folder) / "run.py"
        script.write_text(CASBIN_SCRIPT)
        out = subprocess.run(
            [str(casbin_python()), str(script), str(model), str(rules), str(checks)],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Run every configuration and print the table and the summary line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Smaller runs (smoke test).")
    args = parser.parse_args()
    n = 20_000 if args.quick else 100_000
    configs = [
        (1_000, 100, 100),
        (10_000, 1_000, 1_000),
        (100_000, 5_000, 100),
        (100_000, 5_000, 1_000),
        (100_000, 5_000, 10_000),
    ]
    if args.quick:
        configs = configs[:2]
    header = f"{'system':<10}{'people':>9}{'doors':>7}{'rules':>7}{'p50 µs':>10}{'p99 µs':>10}{'dec/s':>11}{'mem MB':>9}{'build s':>9}{'revoke ms':>11}{'granted':>9}"
    print(header)
    print("-" * len(header))
    ours: dict[tuple[int, int, int], dict[str, float]] = {}
    for people, doors, rules in configs:
        r = measure_ours(people, doors, rules, n)
        ours[(people, doors, rules)] = r
        print(
            f"{'bastion':<10}{people:>9}{doors:>7}{rules:>7}{r['p50']:>10.2f}{r['p99']:>10.2f}"
            f"{r['rate']:>11,.0f}{r['memory_mb']:>9.1f}{r['build_s']:>9.2f}{r['revoke_ms']:>11.4f}{r['granted']:>9.2f}",
            flush=True,
        )
    peers: dict[int, dict[str, float]] = {}
    for rules, checks in ((100, 2000), (1_000, 2000), (10_000, 0 if args.quick else 100)):
        if checks == 0:
            continue
        r = measure_casbin(rules, checks)
        peers[rules] = r
        print(
            f"{'pycasbin':<10}{rules:>9}{max(100, rules // 2):>7}{rules:>7}{r['p50']:>10.1f}{r['p99']:>10.1f}"
            f"{r['rate']:>11,.0f}{'':>9}{'':>9}{'':>11}{'':>9}",
            flush=True,
        )
    key = (100_000, 5_000, 1_000) if not args.quick else (10_000, 1_000, 1_000)
    headline = ours[key]
    p99_big = max(
        r["p99"] for (people, doors, _), r in ours.items() if people == key[0] and doors == key[1]
    )
    speedup = peers[1_000]["p50"] / headline["p50"]
    print(
        f"(headline: {key[0]:,} cardholders, {key[1]:,} doors; p99 is the worst over 100–10,000 rules; casbin is plain RBAC, no schedules)"
    )
    print(
        f"ACCESS p99_us={p99_big:.2f} casbin_p50_us={peers[1_000]['p50']:.1f} "
        f"speedup={speedup:.0f} revoke_ms={headline['revoke_ms']:.4f}"
    )


if __name__ == "__main__":
    main()

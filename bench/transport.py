"""Benchmark: 1,000 vehicles reporting every 5 s through the GPS ingest and deviation watch.

Run: .venv/bin/python bench/transport.py [--minutes N] [--vehicles N]
Default: 1,000 trips on the road (each its own corridor, 8 to 15 points over 4 to 9 km
of a city grid), each tracker reporting every 5 s (200 fixes/s) for --minutes of
simulated time (default 10; 60 is the hour of the full run). Fixes are generated first
(not timed), then fed in one-second batches, as the listeners' queue hands them over,
through Bastion's transport runtime: bad-fix filter, corridor measurement, the watch
of every trip, batched position writes to SQLite (WAL), and the alarms and ledger
events of the 1 % of vehicles that leave their route. ``fixes_per_s`` is the sustained
rate of the whole path, fed as fast as it will go. ``alarm_p99_ms`` is measured first, at
the fleet's real load: --paced-s seconds (default 120) of 200 fixes/s fed second by
second in real time, with 5 % of the vehicles leaving their route early; it is the 99th
percentile of the time from the batch holding the deciding fix being handed over to the
deviation alarm being committed to the database and ledger (with its incident, SOP,
call-tree request and trip event).

The peer does the same deviation checks point by point with plain shapely + pyproj, as
one would without our batching: per fix, project it with the trip's transformer, make a
Point and test it against the trip's buffered corridor polygon. It runs on the same
fixes for up to 20 s (a time budget, so a slow machine still reports) and its rate is
fixes checked per second.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from shapely.geometry import Point

from bastion.core.clock import FrozenClock
from bastion.core.context import Context
from bastion.core.events import EVENT_TRANSPORT_TRIP
from bastion.hub import open_hub
from bastion.settings import Settings
from bastion.site import service as site_service
from bastion.site.loader import load_site_file
from bastion.transport import gps, planner, service
from bastion.transport.geometry import Corridor
from bastion.transport.runtime import FLUSH_AT, TransportRuntime

ROOT = Path(__file__).resolve().parents[1]
SEED = 20260307
CTX = Context(actor="bench")
START = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
ORIGIN = (-89.6501, 39.7817)
EVERY_S = 5
DEVIATING = 0.01
PACED_DEVIATING = 0.05
PEER_BUDGET_S = 20.0
DEG_LAT_M = 111_320.0


def grid_route(rng: random.Random) -> list[list[float]]:
    """Return a random walk along a street grid from the site: 8-15 points, 4-9 km."""
    lon, lat = ORIGIN
    points = [[lon, lat]]
    legs = rng.randint(7, 14)
    for _ in range(legs):
        metres = rng.uniform(300, 700)
        if rng.random() < 0.5:
            lat += metres / DEG_LAT_M * rng.choice((1, 1, -1))
        else:
            lon += metres / (DEG_LAT_M * math.cos(math.radians(lat))) * rng.choice((1, 1, -1))
        points.append([lon, lat])
    return points


def fixes_for(
    corridor: Corridor, device: str, start: datetime, count: int, deviate_at: int | None
) -> list[tuple[datetime, float, float, bool]]:
    """Return (time, lat, lon, off-route) fixes driven along the corridor at 30-50 km/h."""
    out = []
    step = 40 / 3.6 * EVERY_S
    length = corridor.length_m
    for i in range(count):
        along = (i * step) % length
        point = corridor.line.interpolate(along)
        x, y = point.x, point.y
        off = deviate_at is not None and i >= deviate_at
        if off:
            x += 400.0 + 10 * (i - deviate_at)  # a detour 400 m beside the route
        lon, lat = corridor.transformer.transform(x, y, direction="INVERSE")
        out.append((start + timedelta(seconds=i * EVERY_S), lat, lon, off))
    return out


def prepare(hub, site, vehicles: int, rng: random.Random):
    """Store the fleet, a route and a departed trip per vehicle (not timed)."""
    now = hub.clock.now()
    trips = []
    with hub.unit_of_work() as session:
        site_service.import_site(session=session, site=site, context=CTX, now=now)
        from bastion.people import employees

        person = employees.hire(
            session=session, name="Bench Driver", site_id=site.site.id, context=CTX, now=now
        )
        employees.record_background_check(
            session=session,
            person_id=person.id,
            status="cleared",
            checked_on=now.date(),
            reference="bench",
            context=CTX,
            now=now,
        )
        driver = service.add_driver(
            session=session,
            site_id=site.site.id,
            person_id=person.id,
            licence_number="B-1",
            licence_expires_on=date(2030, 1, 1),
            context=CTX,
            now=now,
        )
        for n in range(vehicles):
            vehicle = service.add_vehicle(
                session=session,
                site_id=site.site.id,
                name=f"Van {n}",
                plate=f"B{n:05d}",
                tracker_id=f"fleet/v{n}",
                context=CTX,
                now=now,
            )
            points = grid_route(rng)
            route = service.add_route(
                session=session,
                site_id=site.site.id,
                name=f"R{n}",
                destination=f"D{n}",
                points=points,
                width_m=120,
                context=CTX,
                now=now,
            )
            trip = service.plan_trip(
                session=session,
                site=site,
                kind="product",
                vehicle_id=vehicle.id,
                destination=f"D{n}",
                crew=[driver.id],
                lines=[service.LineIn("free", "Boxes", 4, "each")],
                windows=[planner.Window(now, now)],
                duration=timedelta(hours=3),
                stops=[{"name": f"D{n}", "lon": points[-1][0], "lat": points[-1][1]}],
                route_id=route.id,
                context=CTX,
                now=now,
            )
            service.depart(session=session, site=site, trip=trip, context=CTX, now=now)
            trips.append((vehicle.tracker_id, trip.id, points))
    return trips


def percentile(values: list[float], share: float) -> float:
    """Return the nearest-rank percentile of values (0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


async def run_ours(
    hub, stream, seconds: int, start: datetime
) -> tuple[float, list[float], int, int]:
    """Feed one-second batches through the runtime; return (rate, latencies, alarms, fixes).

    As in the server, alarms and position batches go to the runtime's writer (alarms
    first) while judging goes on; an alarm's latency ends when its commit completes.
    """
    runtime = TransportRuntime(hub)
    await runtime.reload()
    latencies: list[float] = []
    counted = {"alarms": 0, "judge_s": 0.0}
    total = 0

    def done_after(handed: float, deviations: int):
        def done(_future) -> None:
            latencies.extend([(time.perf_counter() - handed) * 1000] * deviations)

        return done

    began = time.perf_counter()
    for second in range(seconds):
        batch = stream[second]
        hub.clock.set(start + timedelta(seconds=second + 1))
        handed = time.perf_counter()
        findings = runtime.judge(batch)
        counted["judge_s"] += time.perf_counter() - handed
        alarms = [f for f in findings if f.kind != "arrived"]
        arrivals = [f for f in findings if f.kind == "arrived"]
        if alarms:
            deviations = sum(1 for f in alarms if f.kind == "deviation")
            counted["alarms"] += deviations
            future = runtime.submit(lambda f=alarms: runtime.record(f), urgent=True)
            future.add_done_callback(done_after(handed, deviations))
        if arrivals:
            runtime.submit(lambda f=arrivals: runtime.record(f), urgent=False)
        if len(runtime.pending) >= FLUSH_AT:
            runtime.flush_soon()
        total += len(batch)
        await asyncio.sleep(0)
    runtime.flush_soon()
    await runtime.drain()
    elapsed = time.perf_counter() - began
    await runtime.stop()
    print(f"judging took {counted['judge_s']:.2f} s of {elapsed:.2f} s", file=sys.stderr)
    return total / elapsed, latencies, int(counted["alarms"]), total


async def run_paced(hub, stream, seconds: int) -> tuple[list[float], int, int]:
    """Feed each second's fixes at its real second; return alarm latencies, alarms, fixes.

    This is the offered load of the fleet (200 fixes/s): the latency of a deviation alarm
    runs from its batch being handed over to the alarm's commit to the database and ledger.
    """
    runtime = TransportRuntime(hub)
    await runtime.reload()
    latencies: list[float] = []
    alarms = 0
    total = 0
    loop = asyncio.get_running_loop()
    began = loop.time()

    def done_after(handed: float, deviations: int):
        def done(_future) -> None:
            latencies.extend([(time.perf_counter() - handed) * 1000] * deviations)

        return done

    for second in range(seconds):
        delay = began + second + 1 - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        hub.clock.set(START + timedelta(seconds=second + 1))
        handed = time.perf_counter()
        findings = runtime.judge(stream[second])
        total += len(stream[second])
        alarmed = [f for f in findings if f.kind != "arrived"]
        if alarmed:
            deviations = sum(1 for f in alarmed if f.kind == "deviation")
            alarms += deviations
            future = runtime.submit(lambda f=alarmed: runtime.record(f), urgent=True)
            future.add_done_callback(done_after(handed, deviations))
        if len(runtime.pending) >= FLUSH_AT:
            runtime.flush_soon()
    runtime.flush_soon()
    await runtime.drain()
    await runtime.stop()
    return latencies, alarms, total


def build_stream(
    corridors: dict[str, Corridor],
    seconds: int,
    rng: random.Random,
    *,
    share: float,
    start: datetime,
    early: bool,
) -> list[list[gps.Fix]]:
    """Return each second's fixes of the fleet (every tracker every 5 s, spread out)."""
    per_vehicle = seconds // EVERY_S
    stream: list[list[gps.Fix]] = [[] for _ in range(seconds)]
    for n, (device, corridor) in enumerate(corridors.items()):
        deviate = None
        if rng.random() < share:
            low, high = (
                (2, max(3, per_vehicle // 3)) if early else (per_vehicle // 3, per_vehicle // 2)
            )
            deviate = rng.randint(low, high)
        offset = n % EVERY_S  # spread the fleet over each 5 s
        for at, lat, lon, _off in fixes_for(corridor, device, start, per_vehicle, deviate):
            second = int((at - start).total_seconds()) + offset
            if second < seconds:
                stream[second].append(
                    gps.Fix(
                        device,
                        at + timedelta(seconds=offset),
                        lat,
                        lon,
                        accuracy_m=8.0,
                        source="bench",
                    )
                )
    return stream


def run_peer(corridors: dict[str, Corridor], stream, budget_s: float) -> tuple[float, int, bool]:
    """Check fixes one by one with shapely and pyproj; return (rate, checked, timed out)."""
    polygons = {device: c.area for device, c in corridors.items()}
    checked = 0
    outside = 0
    began = time.perf_counter()
    for batch in stream:
        for fix in batch:
            corridor = corridors[fix.device]
            x, y = corridor.transformer.transform(fix.lon, fix.lat)
            if not polygons[fix.device].contains(Point(x, y)):
                outside += 1
            checked += 1
        if time.perf_counter() - began > budget_s:
            return checked / (time.perf_counter() - began), checked, True
    return checked / (time.perf_counter() - began), checked, False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="simulated minutes (60 = full)")
    parser.add_argument("--vehicles", type=int, default=1000)
    parser.add_argument("--paced-s", type=int, default=120, help="real seconds at 200 fixes/s")
    args = parser.parse_args()
    rng = random.Random(SEED)
    seconds = max(1, int(args.minutes * 60))
    site = load_site_file(ROOT / "examples" / "cultivation.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        hub = open_hub(settings, clock=FrozenClock(START), migrate=True, create_key=True)
        hub.extras["sites"] = {site.site.id: site}
        try:
            print(f"preparing {args.vehicles} trips …", file=sys.stderr)
            trips = prepare(hub, site, args.vehicles, rng)
            corridors = {d: Corridor([(p[0], p[1]) for p in pts], 120) for d, _t, pts in trips}
            paced = build_stream(
                corridors, args.paced_s, rng, share=PACED_DEVIATING, start=START, early=True
            )
            print(
                f"paced: {args.paced_s} s in real time at {len(trips) // EVERY_S} fixes/s …",
                file=sys.stderr,
            )
            latencies, alarms, paced_fixes = asyncio.run(run_paced(hub, paced, args.paced_s))
            later = START + timedelta(seconds=args.paced_s + 60)
            stream = build_stream(
                corridors, seconds, rng, share=DEVIATING, start=later, early=False
            )
            print(f"feeding {sum(len(b) for b in stream)} fixes …", file=sys.stderr)
            rate, _unpaced, _more, total = asyncio.run(run_ours(hub, stream, seconds, later))
            peer_rate, peer_checked, peer_timed_out = run_peer(corridors, stream, PEER_BUDGET_S)
            ledgered = len(hub.ledger.query(types=[EVENT_TRANSPORT_TRIP.name], limit=1_000_000))
        finally:
            hub.close()
    print(
        f"paced: fixes={paced_fixes} deviation_alarms={alarms} p50_ms={percentile(latencies, 0.5):.1f}; "
        f"sustained: fixes={total} simulated_s={seconds} trip_events={ledgered} "
        f"peer_checked={peer_checked}{' (time budget reached)' if peer_timed_out else ''}",
        file=sys.stderr,
    )
    print(
        f"TRANSPORT fixes_per_s={rate:.0f} alarm_p99_ms={percentile(latencies, 0.99):.1f} "
        f"shapely_naive_per_s={peer_rate:.0f}"
    )


if __name__ == "__main__":
    main()

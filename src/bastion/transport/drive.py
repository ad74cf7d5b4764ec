"""A simulated delivery for the demo: a phone publishing OwnTracks fixes along a route.

It drives a real road geometry at a steady speed, publishing one OwnTracks ``location``
message per interval to ``owntracks/<user>/<device>`` on a real MQTT broker, with an
optional detour (a stretch ``detour_m`` beside the route) and an optional long stop.
Fix times are real (now), so the server's watch judges them as it would a phone's.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import aiomqtt

from bastion.transport.geometry import Corridor

SPRINGFIELD_ROUTE: tuple[tuple[float, float], ...] = (
    (-89.6501, 39.7817),
    (-89.6501, 39.7900),
    (-89.6440, 39.7900),
    (-89.6380, 39.7901),
    (-89.6380, 39.7960),
    (-89.6300, 39.7961),
    (-89.6240, 39.7962),
    (-89.6240, 39.8020),
)
"""About 4 km of a city grid (Springfield, IL), [lon, lat]: the demo's delivery route."""


@dataclass(frozen=True)
class Plan:
    """How the simulated vehicle drives."""

    every_s: float = 10.0
    speed_kmh: float = 36.0
    detour_from: int | None = None  # fix index where the detour starts
    detour_fixes: int = 10
    detour_m: float = 350.0
    stop_at: int | None = None  # fix index where the long stop happens
    stop_fixes: int = 0


def positions(route: Sequence[tuple[float, float]], plan: Plan) -> list[tuple[float, float]]:
    """Return the (lat, lon) of every fix of the drive, detour and stop included."""
    corridor = Corridor(route, 50)
    step = plan.speed_kmh / 3.6 * plan.every_s
    out: list[tuple[float, float]] = []
    along, index = 0.0, 0
    while along <= corridor.length_m:
        point = corridor.line.interpolate(along)
        x, y = point.x, point.y
        if (
            plan.detour_from is not None
            and plan.detour_from <= index < plan.detour_from + plan.detour_fixes
        ):
            ahead = corridor.line.interpolate(min(along + 1.0, corridor.length_m))
            dx, dy = ahead.x - x, ahead.y - y
            norm = math.hypot(dx, dy) or 1.0
            x, y = x + dy / norm * plan.detour_m, y - dx / norm * plan.detour_m  # to the right
        lon, lat = corridor.transformer.transform(x, y, direction="INVERSE")
        out.append((float(lat), float(lon)))
        if plan.stop_at is not None and index == plan.stop_at:
            out.extend([(float(lat), float(lon))] * plan.stop_fixes)
        along += step
        index += 1
    return out


async def drive(
    host: str,
    port: int,
    device: str,
    route: Sequence[tuple[float, float]],
    plan: Plan,
    *,
    base: str = "owntracks",
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], object] = asyncio.sleep,
) -> int:
    """Publish the drive to the broker, one fix per interval; return how many were sent."""
    sent = 0
    async with aiomqtt.Client(host, port) as client:
        for lat, lon in positions(route, plan):
            body = {
                "_type": "location",
                "lat": round(lat, 6),
                "lon": round(lon, 6),
                "tst": int(now().timestamp()),
                "acc": 8,
                "vel": int(plan.speed_kmh),
                "batt": 80,
                "tid": device[-2:],
            }
            await client.publish(f"{base}/{device}", json.dumps(body).encode(), qos=1)
            sent += 1
            result = sleep(plan.every_s)
            if asyncio.iscoroutine(result):
                await result
    return sent

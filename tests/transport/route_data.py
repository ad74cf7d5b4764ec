"""A real road geometry for the transport tests and demo: a delivery across Springfield, IL.

Points are [lon, lat] along streets (approximate, from public street grids), about 4 km.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bastion.transport.geometry import Corridor

ROUTE = [
    [-89.6501, 39.7817],
    [-89.6501, 39.7900],
    [-89.6440, 39.7900],
    [-89.6380, 39.7901],
    [-89.6380, 39.7960],
    [-89.6300, 39.7961],
    [-89.6240, 39.7962],
    [-89.6240, 39.8020],
]
ALTERNATE = [
    [-89.6501, 39.7817],
    [-89.6400, 39.7817],
    [-89.6300, 39.7818],
    [-89.6240, 39.7850],
    [-89.6240, 39.8020],
]
DESTINATION = {"name": "Springfield dispensary", "lon": -89.6240, "lat": 39.8020}


def drive(
    start: datetime, *, every_s: int = 10, speed_kmh: float = 36.0, points=None
) -> list[tuple[datetime, float, float]]:
    """Return (time, lat, lon) fixes along the route at a steady speed."""
    corridor = Corridor([tuple(p) for p in (points or ROUTE)], 60)
    step = speed_kmh / 3.6 * every_s
    out = []
    distance = 0.0
    moment = start
    inverse = corridor.transformer
    while distance <= corridor.length_m:
        point = corridor.line.interpolate(distance)
        lon, lat = inverse.transform(point.x, point.y, direction="INVERSE")
        out.append((moment, lat, lon))
        distance += step
        moment += timedelta(seconds=every_s)
    return out

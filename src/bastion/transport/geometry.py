"""Route corridors and geofences in metres, in a local projection around each route.

GPS gives degrees; distances must be metres. Every corridor carries its own azimuthal
equidistant projection centred on the route (pyproj), so distances from the planned line
are true to well under a metre over a city-sized trip. Shapely does the geometry: the
line is projected once, and a batch of fixes is projected and measured in one vectorised
call each (that batching is what the benchmark compares with point-by-point checks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

from bastion.core.errors import InvalidInput

_GEOD = Geod(ellps="WGS84")
LonLat = tuple[float, float]


def check_point(lon: float, lat: float) -> None:
    """Refuse coordinates that are not on the Earth (or are NaN)."""
    if not (-180.0 <= lon <= 180.0) or not (-90.0 <= lat <= 90.0):
        raise InvalidInput(f"coordinates out of range: lat {lat}, lon {lon}")


def metres_between(a: LonLat, b: LonLat) -> float:
    """Return the geodesic distance in metres between two (lon, lat) points."""
    _, _, dist = _GEOD.inv(a[0], a[1], b[0], b[1])
    return float(dist)


def route_points(raw: Sequence[Sequence[float]]) -> list[LonLat]:
    """Validate a planned route given as [lon, lat] pairs; at least two distinct points."""
    points: list[LonLat] = []
    for i, pair in enumerate(raw):
        if len(pair) != 2:
            raise InvalidInput(f"route point {i + 1} must be [lon, lat]")
        lon, lat = float(pair[0]), float(pair[1])
        check_point(lon, lat)
        points.append((lon, lat))
    if len(set(points)) < 2:
        raise InvalidInput("a planned route needs at least two different points")
    return points


@lru_cache(maxsize=256)
def local_projection(lon: float, lat: float) -> Transformer:
    """Return a WGS84 → metres transformer (azimuthal equidistant) centred on a point."""
    return Transformer.from_crs(
        "EPSG:4326",
        f"+proj=aeqd +lat_0={lat:.6f} +lon_0={lon:.6f} +x_0=0 +y_0=0 +ellps=WGS84 +units=m",
        always_xy=True,
    )


@dataclass(frozen=True)
class Fence:
    """A circular geofence (a site, a destination, a planned stop) in the route's metres."""

    name: str
    x: float
    y: float
    radius_m: float

    def contains(self, x: float, y: float) -> bool:
        """Return True when a projected point lies inside the fence."""
        return (x - self.x) ** 2 + (y - self.y) ** 2 <= self.radius_m**2


def offsets_many(
    transformer: Transformer,
    lines: Sequence[LineString],
    lons: Sequence[float],
    lats: Sequence[float],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Project a batch of fixes of many trips at once; measure each from its own line.

    ``lines[i]`` is the planned line of fix ``i``'s trip, all in ``transformer``'s
    metres. One pyproj call and one vectorised shapely call for the whole batch.
    """
    xs, ys = transformer.transform(np.asarray(lons, float), np.asarray(lats, float))
    xs, ys = np.atleast_1d(xs), np.atleast_1d(ys)
    distances = shapely.distance(np.asarray(lines, dtype=object), shapely.points(xs, ys))
    return xs, ys, np.asarray(distances, float)


class Corridor:
    """A planned route as a polyline with a width, measured in metres."""

    def __init__(self, points: Sequence[LonLat], width_m: float) -> None:
        if width_m <= 0:
            raise InvalidInput("the corridor width must be more than 0 m")
        self.points = route_points(points)
        self.width_m = float(width_m)
        lons = [p[0] for p in self.points]
        lats = [p[1] for p in self.points]
        # Centre snapped to a half-degree grid: the trips of one region share one projection
        # (so a batch of fixes of many trips is projected in one call). The centre is then
        # within about 40 km of the route, where the azimuthal equidistant projection's
        # scale error is under 1e-5 (a centimetre over a kilometre).
        centre = ((min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2)
        self.transformer = local_projection(round(centre[0] * 2) / 2, round(centre[1] * 2) / 2)
        xs, ys = self.transformer.transform(lons, lats)
        self.line = LineString(list(zip(xs, ys, strict=True)))
        shapely.prepare(self.line)

    @cached_property
    def area(self) -> BaseGeometry:
        """Return the corridor as a polygon (the line buffered by half the width)."""
        return self.line.buffer(self.width_m / 2)

    @property
    def length_m(self) -> float:
        """Return the route's length in metres."""
        return float(self.line.length)

    def project(self, lon: float, lat: float) -> tuple[float, float]:
        """Return a (lon, lat) point in the corridor's metres."""
        x, y = self.transformer.transform(lon, lat)
        return float(x), float(y)

    def fence(self, name: str, lon: float, lat: float, radius_m: float) -> Fence:
        """Return a circular fence around a point, in this corridor's projection."""
        check_point(lon, lat)
        x, y = self.project(lon, lat)
        return Fence(name, x, y, float(radius_m))

    def offsets(
        self, lons: Sequence[float], lats: Sequence[float]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return x, y and distance from the line (m) of a batch of fixes, vectorised."""
        xs, ys = self.transformer.transform(np.asarray(lons, float), np.asarray(lats, float))
        xs = np.atleast_1d(xs)
        ys = np.atleast_1d(ys)
        distances = shapely.distance(self.line, shapely.points(xs, ys))
        return xs, ys, np.asarray(distances, float)

    def offset_m(self, lon: float, lat: float) -> float:
        """Return one fix's distance from the planned line, in metres."""
        x, y = self.project(lon, lat)
        return float(self.line.distance(Point(x, y)))

    def inside(self, lon: float, lat: float) -> bool:
        """Return True when a fix lies inside the corridor."""
        return self.offset_m(lon, lat) <= self.width_m / 2

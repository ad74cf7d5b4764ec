"""Place an adversary path on the site plan, for the report and the console map.

The site model gives zone rectangles and door positions but no barrier geometry, so a
barrier crossing is placed where the two zones meet: on their shared edge when they
are side by side, else on the inner zone's edge nearest the adversary. The drawing is
a picture of the path's order through the layers, not a survey.
"""

from __future__ import annotations

from dataclasses import dataclass

from bastion.analysis.asd import SitePath
from bastion.site.schemas import OUTSIDE, Rect, Site

__all__ = ["PathPoint", "PlacedPath", "place_path", "plan_size"]

_TOL = 0.01
_OUT_M = 2.0


@dataclass(frozen=True, slots=True)
class PathPoint:
    """Where one path element happens on the plan (metres)."""

    x: float
    y: float
    index: int
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class PlacedPath:
    """The path's route (a polyline) and one labelled point per element."""

    route: tuple[tuple[float, float], ...]
    points: tuple[PathPoint, ...]


def plan_size(site: Site) -> tuple[float, float]:
    """Return the plan's width and height: the extent of every zone rectangle."""
    width = height = 10.0
    for zone in site.zones:
        if zone.area is not None:
            width = max(width, zone.area.x + zone.area.width)
            height = max(height, zone.area.y + zone.area.height)
    return width, height


def _rect(site: Site, zone_id: str) -> Rect | None:
    if zone_id == OUTSIDE:
        return None
    for zone in site.zones:
        if zone.id == zone_id:
            return zone.area
    return None


def _centre(rect: Rect) -> tuple[float, float]:
    return rect.x + rect.width / 2, rect.y + rect.height / 2


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _on_boundary(rect: Rect, p: tuple[float, float]) -> tuple[float, float]:
    """Return the point of the rectangle's edge nearest ``p``."""
    x = _clamp(p[0], rect.x, rect.x + rect.width)
    y = _clamp(p[1], rect.y, rect.y + rect.height)
    if (x, y) != p:
        return x, y
    # Inside: move to the nearest edge.
    gaps = {
        "left": x - rect.x,
        "right": rect.x + rect.width - x,
        "top": y - rect.y,
        "bottom": rect.y + rect.height - y,
    }
    side = min(gaps, key=lambda k: gaps[k])
    if side == "left":
        return rect.x, y
    if side == "right":
        return rect.x + rect.width, y
    if side == "top":
        return x, rect.y
    return x, rect.y + rect.height


def _shared_edge(a: Rect, b: Rect) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """Return the segment two side-by-side rectangles share, if they touch."""
    lo, hi = max(a.x, b.x), min(a.x + a.width, b.x + b.width)
    if hi - lo > _TOL:
        for y in (a.y + a.height, a.y):
            if abs(y - b.y) < _TOL or abs(y - (b.y + b.height)) < _TOL:
                return (lo, y), (hi, y)
    lo, hi = max(a.y, b.y), min(a.y + a.height, b.y + b.height)
    if hi - lo > _TOL:
        for x in (a.x + a.width, a.x):
            if abs(x - b.x) < _TOL or abs(x - (b.x + b.width)) < _TOL:
                return (x, lo), (x, hi)
    return None


def _contains(outer: Rect, inner: Rect) -> bool:
    return (
        outer.x - _TOL <= inner.x
        and outer.y - _TOL <= inner.y
        and inner.x + inner.width <= outer.x + outer.width + _TOL
        and inner.y + inner.height <= outer.y + outer.height + _TOL
    )


def _crossing(
    site: Site, item_id: str, a_id: str, b_id: str, here: tuple[float, float]
) -> tuple[float, float] | None:
    for door in site.doors:
        if door.id == item_id and door.position is not None:
            return door.position.x, door.position.y
    a, b = _rect(site, a_id), _rect(site, b_id)
    if a is not None and b is not None:
        edge = _shared_edge(a, b)
        if edge is not None and not _contains(a, b) and not _contains(b, a):
            (x0, y0), (x1, y1) = edge
            return _clamp(here[0], x0, x1), _clamp(here[1], y0, y1)
        smaller = b if b.width * b.height <= a.width * a.height else a
        return _on_boundary(smaller, here)
    only = b if b is not None else a
    return None if only is None else _on_boundary(only, here)


def _outside(site: Site, p: tuple[float, float]) -> tuple[float, float]:
    """Return the point just outside the plan nearest ``p``."""
    width, height = plan_size(site)
    gaps = {"left": p[0], "right": width - p[0], "top": p[1], "bottom": height - p[1]}
    side = min(gaps, key=lambda k: gaps[k])
    if side == "left":
        return -_OUT_M, p[1]
    if side == "right":
        return width + _OUT_M, p[1]
    if side == "top":
        return p[0], -_OUT_M
    return p[0], height + _OUT_M


def place_path(site: Site, path: SitePath) -> PlacedPath:
    """Return the path's route on the plan and where each of its elements happens."""
    target_rect = _rect(site, path.target)
    width, height = plan_size(site)
    here = _centre(target_rect) if target_rect is not None else (width / 2, height / 2)
    route: list[tuple[float, float]] = []
    spots: list[tuple[float, float] | None] = []
    for step in path.steps:
        if step.kind == "zone":
            rect = _rect(site, step.item_id)
            # Walk through the zone's middle, except for a zone that holds the target (the
            # lot around a building): its middle is usually inside the building.
            if rect is not None and (
                step.item_id == path.target
                or target_rect is None
                or not _contains(rect, target_rect)
            ):
                here = _centre(rect)
                route.append(here)
                spots.append(here)
            else:
                spots.append(None)
            continue
        point = _crossing(site, step.item_id, step.from_zone, step.to_zone, here)
        if point is None:
            spots.append(None)
            continue
        if not route and step.from_zone == OUTSIDE:
            route.append(_outside(site, point))
        route.append(point)
        spots.append(point)
        here = point
        if step.to_zone == OUTSIDE:
            route.append(_outside(site, point))
    # A traversal is labelled halfway between the points around it.
    placed: list[PathPoint] = []
    for index, (step, spot) in enumerate(zip(path.steps, spots, strict=True)):
        if spot is None:
            before = next((s for s in reversed(spots[:index]) if s is not None), None)
            after = next((s for s in spots[index + 1 :] if s is not None), None)
            ends = [s for s in (before, after) if s is not None]
            if not ends:
                continue
            spot = (sum(e[0] for e in ends) / len(ends), sum(e[1] for e in ends) / len(ends))
        element = path.path.elements[index]
        placed.append(PathPoint(spot[0], spot[1], index, element.name, step.kind))
    return PlacedPath(tuple(route), tuple(placed))

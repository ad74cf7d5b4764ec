"""The zone/door graph of a site: adjacency, lockdown sets and paths in from outside.

Zones are the nodes, plus the implicit ``outside`` zone. Doors are edges; barriers
(walls, fences, windows, roofs) are a second, optional edge kind that path analysis can
include. Edges are undirected: ``from``/``to`` only record which side is outer.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import TypeVar

from bastion.site.schemas import (
    OUTSIDE,
    Barrier,
    DeviceType,
    Door,
    Layer,
    Point,
    Site,
    SiteReferenceError,
    Zone,
)

__all__ = ["Edge", "NoPathError", "SiteGraph", "verify_reachable"]

Edge = Door | Barrier
"""Something an intruder or a person crosses between two zones."""

_E = TypeVar("_E", Door, Barrier)


class NoPathError(LookupError):
    """The zone cannot be reached from outside through the allowed edges."""


def _edge_key(edge: Edge) -> tuple[str, int]:
    # Doors before barriers when ids tie, so a route prefers the controlled opening.
    return (edge.id, 0 if isinstance(edge, Door) else 1)


class SiteGraph:
    """Answer adjacency and path questions about one site's zones, doors and barriers."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self._zones: dict[str, Zone] = {zone.id: zone for zone in site.zones}
        self._doors: dict[str, Door] = {door.id: door for door in site.doors}
        self._door_edges: dict[str, list[tuple[Door, str]]] = self._adjacency(site.doors)
        self._barrier_edges: dict[str, list[tuple[Barrier, str]]] = self._adjacency(site.barriers)
        self._route_cache: dict[bool, dict[str, Edge | None]] = {}

    def _adjacency(self, edges: Iterable[_E]) -> dict[str, list[tuple[_E, str]]]:
        table: dict[str, list[tuple[_E, str]]] = {zone_id: [] for zone_id in self._zones}
        table[OUTSIDE] = []
        for edge in sorted(edges, key=lambda e: e.id):
            table[edge.from_zone].append((edge, edge.to_zone))
            table[edge.to_zone].append((edge, edge.from_zone))
        return table

    def _check(self, zone_id: str) -> None:
        if zone_id != OUTSIDE and zone_id not in self._zones:
            raise KeyError(zone_id)

    def _edges(self, zone_id: str, include_barriers: bool) -> list[tuple[Edge, str]]:
        self._check(zone_id)
        edges: list[tuple[Edge, str]] = list(self._door_edges[zone_id])
        if include_barriers:
            edges.extend(self._barrier_edges[zone_id])
            edges.sort(key=lambda pair: _edge_key(pair[0]))
        return edges

    # --- adjacency ------------------------------------------------------------------

    def neighbours(self, zone_id: str, *, include_barriers: bool = False) -> set[str]:
        """Return ids of zones (``outside`` included) one door (or barrier) away."""
        return {other for _, other in self._edges(zone_id, include_barriers)}

    def adjacent_zones(self, zone_id: str) -> list[Zone]:
        """Return the real zones one door away, by id (``outside`` is not a Zone)."""
        return [self._zones[z] for z in sorted(self.neighbours(zone_id)) if z != OUTSIDE]

    def doors_of(self, zone_id: str) -> list[Door]:
        """Return the doors on the boundary of a zone, by id."""
        self._check(zone_id)
        return [door for door, _ in self._door_edges[zone_id]]

    def barriers_of(self, zone_id: str) -> list[Barrier]:
        """Return the barriers on the boundary of a zone, by id."""
        self._check(zone_id)
        return [barrier for barrier, _ in self._barrier_edges[zone_id]]

    def doors_between(self, a: str, b: str) -> list[Door]:
        """Return the doors joining zones ``a`` and ``b`` (either way round), by id."""
        self._check(a)
        self._check(b)
        return [door for door, other in self._door_edges[a] if other == b]

    def adjacent_doors(self, door_id: str, *, include_outside: bool = False) -> list[Door]:
        """Return the other doors that open into either zone of a door, by id.

        ``outside`` is not a room, so by default doors that only share the outside with
        this one (every other exterior door) are not adjacent.
        """
        door = self._doors[door_id]
        found: dict[str, Door] = {}
        for zone_id in (door.from_zone, door.to_zone):
            if zone_id == OUTSIDE and not include_outside:
                continue
            for other, _ in self._door_edges[zone_id]:
                if other.id != door_id:
                    found[other.id] = other
        return [found[k] for k in sorted(found)]

    def lockdown_doors(self, zone_id: str) -> list[Door]:
        """Return every door of a zone and of the real zones one door away, by id."""
        zones = [zone_id, *(zone.id for zone in self.adjacent_zones(zone_id))]
        found = {door.id: door for z in zones for door in self.doors_of(z)}
        return [found[k] for k in sorted(found)]

    # --- paths ----------------------------------------------------------------------

    def _routes(self, include_barriers: bool) -> dict[str, Edge | None]:
        """Breadth-first from outside: the edge each zone is first reached through.

        Edges are tried in id order from zones in the order they were reached, so each
        zone's route is the one with the fewest crossings and, among those, the
        lexicographically smallest sequence of ids.
        """
        if include_barriers in self._route_cache:
            return self._route_cache[include_barriers]
        came_by: dict[str, Edge | None] = {OUTSIDE: None}
        queue: deque[str] = deque([OUTSIDE])
        while queue:
            here = queue.popleft()
            for edge, there in self._edges(here, include_barriers):
                if there not in came_by:
                    came_by[there] = edge
                    queue.append(there)
        self._route_cache[include_barriers] = came_by
        return came_by

    def _route(self, zone_id: str, include_barriers: bool) -> list[Edge]:
        self._check(zone_id)
        came_by = self._routes(include_barriers)
        if zone_id not in came_by:
            through = "doors or barriers" if include_barriers else "doors"
            raise NoPathError(f"zone {zone_id!r} cannot be reached from outside through {through}")
        route: list[Edge] = []
        here = zone_id
        while (edge := came_by[here]) is not None:
            route.append(edge)
            here = edge.from_zone if edge.to_zone == here else edge.to_zone
        route.reverse()
        return route

    def path_from_outside(self, zone_id: str) -> list[Door]:
        """Return the fewest doors from outside into a zone (ties broken by door id).

        Raise NoPathError when no chain of doors leads there.
        """
        return [edge for edge in self._route(zone_id, False) if isinstance(edge, Door)]

    def route_from_outside(self, zone_id: str, *, include_barriers: bool = True) -> list[Edge]:
        """Return the fewest doors and barriers from outside into a zone (ties by id)."""
        return self._route(zone_id, include_barriers)

    def zones_along(self, zone_id: str, *, include_barriers: bool = False) -> list[str]:
        """Return the zone ids entered along the route from outside, ending at ``zone_id``."""
        zones: list[str] = []
        here = OUTSIDE
        for edge in self._route(zone_id, include_barriers):
            here = edge.to_zone if edge.from_zone == here else edge.from_zone
            zones.append(here)
        return zones

    def layers_crossed(self, zone_id: str, *, include_barriers: bool = False) -> list[Layer]:
        """Return the layer of each zone entered on the way in from outside."""
        return [
            self._zones[z].layer
            for z in self.zones_along(zone_id, include_barriers=include_barriers)
        ]

    def depth(self, zone_id: str, *, include_barriers: bool = False) -> int:
        """Return how many doors (or barriers) separate a zone from outside."""
        return len(self._route(zone_id, include_barriers))

    def reachable(self, *, include_barriers: bool = False) -> set[str]:
        """Return ids of the zones that can be reached from outside."""
        return set(self._routes(include_barriers)) - {OUTSIDE}

    def unreachable_zones(self, *, include_barriers: bool = False) -> list[str]:
        """Return ids of zones no chain of doors (or barriers) leads to, in site order."""
        reached = self.reachable(include_barriers=include_barriers)
        return [zone.id for zone in self.site.zones if zone.id not in reached]

    # --- devices --------------------------------------------------------------------

    def zone_at(self, point: Point) -> str | None:
        """Return the smallest zone whose plan area holds ``point`` (None when none does)."""
        holding = [z for z in self.site.zones if z.area is not None and z.area.contains(point)]
        if not holding:
            return None
        best = min(holding, key=lambda z: (z.area.width * z.area.height if z.area else 0, z.id))
        return best.id

    def zone_of_device(self, device_id: str) -> str | None:
        """Return the zone a device sits in or watches (may be ``outside``; None if unknown).

        An entry-side reader stands on a door's outer side; exit readers, contacts and
        REX sensors belong to the inner side; cameras use their first covered zone, else
        the zone holding their mount point.
        """
        device = self.site.device(device_id)
        if device.zone is not None:
            return device.zone
        if device.door is not None:
            door = self._doors[device.door]
            if device.type is DeviceType.READER and device.side == "entry":
                return door.from_zone
            return door.to_zone
        if device.covers:
            return device.covers[0]
        if device.fov is not None:
            return self.zone_at(device.fov.position)
        return None

    def __contains__(self, zone_id: object) -> bool:
        """Return True for a zone id of this site or ``outside``."""
        return zone_id == OUTSIDE or zone_id in self._zones


def verify_reachable(site: Site) -> None:
    """Every zone can be reached from outside through doors or barriers."""
    graph = SiteGraph(site)
    unreachable = graph.unreachable_zones(include_barriers=True)
    if unreachable:
        index = next(i for i, zone in enumerate(site.zones) if zone.id == unreachable[0])
        raise SiteReferenceError(
            f"zones.{index}",
            f"zone {unreachable[0]!r} cannot be reached from outside through any door or barrier",
        )

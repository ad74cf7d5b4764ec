"""The one lockdown registry: which zones are locked down, and which doors each lockdown holds.

A lockdown is started on one zone (its *root*) and holds every door of that zone and
of the zones one door away (:meth:`SiteGraph.lockdown_doors`). The access engine, the
door board and the console map all read this registry, so they cannot disagree about
whether a door is locked down; lifting names the root it lifts, and a door held by a
neighbouring zone's lockdown says which lockdown holds it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bastion.site.graph import SiteGraph

if TYPE_CHECKING:
    from bastion.hub import Hub

LOCKDOWNS_KEY = "lockdowns"


@dataclass(frozen=True)
class Lockdown:
    """One active lockdown: its root zone, the doors it holds, and why."""

    site_id: str
    zone_id: str
    zone_name: str
    doors: tuple[str, ...]
    reason: str = ""
    started_at: datetime | None = None
    started_by: str | None = None

    def describe(self) -> str:
        """Return the plain-words name of this lockdown (``lockdown of Vault``)."""
        return f"lockdown of {self.zone_name}"


class LockdownRegistry:
    """Active lockdowns per site; ``version`` changes whenever any door's lockdown changes."""

    def __init__(self) -> None:
        self.version = 0
        self._graphs: dict[str, SiteGraph] = {}
        self._active: dict[str, dict[str, Lockdown]] = {}
        self._mode_locked: dict[str, frozenset[str]] = {}
        self._door_keys: frozenset[str] = frozenset()

    # --- sites --------------------------------------------------------------------------

    def put_graph(self, site_id: str, graph: SiteGraph) -> None:
        """Track (or re-track) a site; lockdowns already active are recomputed on its graph."""
        self._graphs[site_id] = graph
        current = self._active.get(site_id, {})
        self._active[site_id] = {
            zone: replace(
                item, doors=self._doors_of(site_id, zone), zone_name=self._name(site_id, zone)
            )
            for zone, item in current.items()
        }
        self._changed()

    def knows(self, site_id: str, zone_id: str) -> bool:
        """Return True when ``zone_id`` is a real zone of a tracked site."""
        graph = self._graphs.get(site_id)
        return graph is not None and zone_id in graph and zone_id != "outside"

    # --- changes ------------------------------------------------------------------------

    def start(
        self,
        site_id: str,
        zone_id: str,
        *,
        reason: str = "",
        at: datetime | None = None,
        by: str | None = None,
    ) -> Lockdown | None:
        """Start a lockdown rooted at ``zone_id``; return it, or None when it was already on."""
        active = self._active.setdefault(site_id, {})
        if zone_id in active:
            return None
        item = Lockdown(
            site_id=site_id,
            zone_id=zone_id,
            zone_name=self._name(site_id, zone_id),
            doors=self._doors_of(site_id, zone_id),
            reason=reason,
            started_at=at,
            started_by=by,
        )
        active[zone_id] = item
        self._changed()
        return item

    def lift(self, site_id: str, zone_id: str) -> Lockdown | None:
        """Lift the lockdown rooted at ``zone_id``; return it, or None when there was none."""
        item = self._active.get(site_id, {}).pop(zone_id, None)
        if item is not None:
            self._changed()
        return item

    def set_zones(self, site_id: str, zones: Iterable[str]) -> None:
        """Make exactly ``zones`` the lockdown roots of a site (loading persisted state)."""
        wanted = set(zones)
        for zone in set(self._active.get(site_id, {})) - wanted:
            self.lift(site_id, zone)
        for zone in sorted(wanted):
            self.start(site_id, zone)

    def set_mode_locked(self, site_id: str, doors: Iterable[str]) -> None:
        """Record the doors whose access policy puts them in lockdown mode (no root zone)."""
        wanted = frozenset(doors)
        if self._mode_locked.get(site_id, frozenset()) != wanted:
            self._mode_locked[site_id] = wanted
            self._changed()

    # --- questions ----------------------------------------------------------------------

    def mode_locked(self, site_id: str, door_id: str) -> bool:
        """Return True when the door's own policy mode is lockdown."""
        return door_id in self._mode_locked.get(site_id, frozenset())

    def zones(self, site_id: str) -> frozenset[str]:
        """Return the root zones locked down at a site."""
        return frozenset(self._active.get(site_id, {}))

    def active(self, site_id: str) -> list[Lockdown]:
        """Return the active lockdowns of a site, by zone name."""
        return sorted(self._active.get(site_id, {}).values(), key=lambda i: i.zone_name)

    def get(self, site_id: str, zone_id: str) -> Lockdown | None:
        """Return the lockdown rooted at ``zone_id``, if any."""
        return self._active.get(site_id, {}).get(zone_id)

    def covering(self, site_id: str, door_id: str) -> list[Lockdown]:
        """Return the lockdowns that hold ``door_id`` (empty: the door is not locked down)."""
        return [item for item in self.active(site_id) if door_id in item.doors]

    def covering_zone(self, site_id: str, zone_id: str) -> list[Lockdown]:
        """Return the lockdowns holding any door of ``zone_id``."""
        graph = self._graphs.get(site_id)
        if graph is None or zone_id not in graph:
            return []
        doors = {d.id for d in graph.doors_of(zone_id)}
        return [item for item in self.active(site_id) if doors & set(item.doors)]

    def doors(self, site_id: str) -> frozenset[str]:
        """Return every door id locked down at a site (by a zone lockdown or its own mode)."""
        held = {d for item in self._active.get(site_id, {}).values() for d in item.doors}
        return frozenset(held | self._mode_locked.get(site_id, frozenset()))

    def door_keys(self) -> frozenset[str]:
        """Return ``site/door`` for every locked-down door of every site (the engine's lookup)."""
        return self._door_keys

    def as_dict(self, site_id: str) -> list[dict[str, Any]]:
        """Return the active lockdowns of a site as plain data for the API and the console."""
        return [
            {
                "zone_id": i.zone_id,
                "zone_name": i.zone_name,
                "doors": list(i.doors),
                "reason": i.reason,
                "started_at": i.started_at.isoformat() if i.started_at else None,
                "started_by": i.started_by,
            }
            for i in self.active(site_id)
        ]

    # --- internals ----------------------------------------------------------------------

    def _doors_of(self, site_id: str, zone_id: str) -> tuple[str, ...]:
        graph = self._graphs.get(site_id)
        if graph is None or zone_id not in graph or zone_id == "outside":
            return ()
        return tuple(d.id for d in graph.lockdown_doors(zone_id))

    def _name(self, site_id: str, zone_id: str) -> str:
        graph = self._graphs.get(site_id)
        names = {z.id: z.name for z in graph.site.zones} if graph is not None else {}
        return names.get(zone_id, zone_id)

    def _changed(self) -> None:
        sites = set(self._active) | set(self._mode_locked)
        self._door_keys = frozenset(f"{sid}/{door}" for sid in sites for door in self.doors(sid))
        self.version += 1


def lockdowns_of(hub: Hub) -> LockdownRegistry:
    """Return the hub's shared lockdown registry, creating it on first use."""
    registry = hub.extras.get(LOCKDOWNS_KEY)
    if not isinstance(registry, LockdownRegistry):
        registry = LockdownRegistry()
        hub.extras[LOCKDOWNS_KEY] = registry
    return registry

"""What rules see while they run: the site environment, live door/sensor states and one run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bastion.automation.arming import ArmingBoard
from bastion.automation.references import Catalog
from bastion.core.clock import SYSTEM_CLOCK, Clock
from bastion.core.context import Context
from bastion.core.events import Event
from bastion.site.graph import SiteGraph
from bastion.site.schemas import DeviceType, Site


@dataclass
class LiveState:
    """Latest door and sensor states and the threat level, fed from the bus."""

    doors: dict[tuple[str | None, str], str] = field(default_factory=dict)
    sensors: dict[tuple[str | None, str], str] = field(default_factory=dict)
    threat_level: int = 0


class RuleEnv:
    """Everything compiled rules may consult: sites and their graphs, arming, live state.

    ``call_trees`` and ``templates`` are what the notification store holds (None when
    there is no store to ask); with the sites they make the catalog references resolve in.
    """

    def __init__(
        self,
        *,
        sites: dict[str, Site] | None = None,
        board: ArmingBoard | None = None,
        clock: Clock = SYSTEM_CLOCK,
        hub: Any = None,
        call_trees: Mapping[str, str | None] | None = None,
        templates: frozenset[str] | None = None,
    ) -> None:
        self.sites = sites or {}
        self.graphs = {sid: SiteGraph(site) for sid, site in self.sites.items()}
        self.board = board or ArmingBoard(self.sites)
        self.live = LiveState()
        self.clock = clock
        self.hub = hub
        self.call_trees = call_trees
        self.templates = templates

    @property
    def catalog(self) -> Catalog:
        """Return what rule references must name: these sites, call trees and templates."""
        return Catalog(sites=self.sites, call_trees=self.call_trees, templates=self.templates)

    def use_catalog(self, catalog: Catalog) -> None:
        """Take the call trees and templates of ``catalog`` (read from the store)."""
        self.call_trees = catalog.call_trees
        self.templates = catalog.templates

    def site_for(self, site_id: str | None) -> Site | None:
        """Return the site of an event (the only site when the event names none)."""
        if site_id is not None:
            return self.sites.get(site_id)
        return next(iter(self.sites.values())) if len(self.sites) == 1 else None

    def graph_for(self, site_id: str | None) -> SiteGraph | None:
        """Return the graph of a site (as :meth:`site_for`)."""
        site = self.site_for(site_id)
        return self.graphs.get(site.site.id) if site is not None else None

    def zone_of(self, site_id: str | None, payload: Any) -> str | None:
        """Return the zone an event payload is about (zone, door's inner side, device's zone)."""
        zone = getattr(payload, "zone_id", None)
        if zone:
            return str(zone)
        site = self.site_for(site_id)
        if site is None:
            return None
        door_id = getattr(payload, "door_id", None)
        if door_id:
            try:
                return site.door(door_id).to_zone
            except KeyError:
                return None
        device_id = getattr(payload, "device_id", None) or getattr(payload, "camera_id", None)
        graph = self.graph_for(site_id)
        if device_id and graph is not None:
            try:
                return graph.zone_of_device(device_id)
            except KeyError:
                return None
        return None

    def covering_cameras(self, site_id: str | None, zone_id: str | None) -> list[str]:
        """Return the cameras covering a zone, by id."""
        site = self.site_for(site_id)
        if site is None or zone_id is None:
            return []
        return sorted(
            d.id
            for d in site.devices
            if d.type is DeviceType.CAMERA and (zone_id in d.covers or d.zone == zone_id)
        )


@dataclass
class RunState:
    """One run of one rule: its trigger, context, trace steps and the events it will emit."""

    rule_id: str
    run_id: str
    context: Context
    event: Event[Any] | None
    site_id: str | None
    now: datetime
    env: RuleEnv
    trigger_path: str = "trigger/0"
    steps: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[Event[Any]] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)

    @property
    def zone_id(self) -> str | None:
        """Return the zone the trigger is about, when there is one."""
        if "zone_id" not in self.variables:
            payload = self.event.payload if self.event is not None else None
            self.variables["zone_id"] = self.env.zone_of(self.site_id, payload)
        value = self.variables["zone_id"]
        return str(value) if value is not None else None

    @property
    def door_id(self) -> str | None:
        """Return the door the trigger is about, when there is one."""
        payload = self.event.payload if self.event is not None else None
        value = getattr(payload, "door_id", None)
        return str(value) if value is not None else None

    def trace(self, path: str, **data: Any) -> None:
        """Append one trace element."""
        self.steps.append({"path": path, **data})

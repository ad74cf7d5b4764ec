"""Build the adversary sequence diagram (ASD) of a site and find its most vulnerable path.

Areas are nodes: each zone ``z`` has an arrival node ``z`` and a node ``z#`` reached after
crossing it (its ``traversal_s`` is an element, detected by motion sensors and cameras
watching it). Doors and barriers are edges between zones, one per defeat method, in the
adversary's direction (inward on entry, outward on exit). For theft the exit is part of the
path: a second copy of the graph (phase ``out``) starts after the target is crossed and ends outside; leaving through a door is
"open from inside" (fast, seen by the door contact), through a barrier it is a new breach.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bastion.analysis.easi import EasiOptions, Element, Location
from bastion.analysis.library import DEFAULT_LIBRARY, Component, ComponentLibrary, combine_detection
from bastion.analysis.paths import Mode, PathEdge, PathResult, graph_mvp
from bastion.core.errors import InvalidInput
from bastion.site.schemas import OUTSIDE, Barrier, DeviceType, Door, Site

__all__ = ["Asd", "AsdStep", "SitePath", "build_asd", "site_mvp"]

_OPENING_METHODS = {"force", "force_power", "pick_lock", "open_inside"}
_GLASS_METHODS = {"break", "break_glass"}
_FENCE_METHODS = {"climb", "cut"}
_EXIT_DELAY_S = 5.0


@dataclass(frozen=True, slots=True)
class AsdStep:
    """What one path edge means on the site: the item crossed, how, and between which zones."""

    edge_id: str
    kind: str
    item_id: str
    defeat_method: str
    from_zone: str
    to_zone: str
    phase: str
    sensors: tuple[str, ...]
    source_label: str


@dataclass(frozen=True, slots=True)
class Asd:
    """The ASD of one site for one target: directed edges and what they stand for."""

    edges: tuple[PathEdge, ...]
    steps: dict[str, AsdStep]
    start: str
    goal: str
    target: str


@dataclass(frozen=True, slots=True)
class SitePath:
    """The most vulnerable path of a site, with each element explained."""

    target: str
    path: PathResult
    steps: tuple[AsdStep, ...]

    @property
    def p_interruption(self) -> float:
        """Return the path's probability of interruption."""
        return self.path.p_interruption


def _node(zone: str, phase: str, crossed: bool = False) -> str:
    if zone == OUTSIDE:
        return OUTSIDE if phase == "in" else f"{OUTSIDE}@out"
    name = f"{zone}#" if crossed else zone
    return name if phase == "in" else f"{name}@out"


def _device_p(
    site: Site, device_type: DeviceType, library: ComponentLibrary, **where: str
) -> list[tuple[str, float]]:
    spec = library.sensor(device_type.value)
    found: list[tuple[str, float]] = []
    for device in site.devices:
        if device.type is not device_type:
            continue
        door = where.get("door")
        zone = where.get("zone")
        if door is not None and device.door != door:
            continue
        if zone is not None and device.zone != zone and zone not in device.covers:
            continue
        found.append((device.id, spec.pd if device.p_detection is None else device.p_detection))
    return found


def _crossing_detection(
    site: Site,
    item: Door | Barrier,
    component: Component,
    to_zone: str,
    from_zone: str,
    library: ComponentLibrary,
) -> tuple[float, list[str], Location]:
    """Return (P(D), sensor ids, location) for crossing ``item`` by ``component``'s method."""
    found: list[tuple[str, float]] = []
    location = component.detection_location
    method = component.defeat_method
    if isinstance(item, Door) and method in _OPENING_METHODS:
        found += _device_p(site, DeviceType.CONTACT, library, door=item.id)
        location = "E"
    if method in _GLASS_METHODS:
        for zone in (to_zone, from_zone):
            if zone != OUTSIDE:
                found += [
                    (d, p)
                    for d, p in _device_p(site, DeviceType.GLASS_BREAK, library, zone=zone)
                    if (d, p) not in found
                ]
        location = "B"
    if method in _FENCE_METHODS and (
        isinstance(item, Barrier) or item.kind.value in ("gate", "vehicle")
    ):
        for zone in (to_zone, from_zone):
            if zone != OUTSIDE:
                found += [
                    (d, p)
                    for d, p in _device_p(site, DeviceType.FENCE_SENSOR, library, zone=zone)
                    if (d, p) not in found
                ]
        location = "M"
    probabilities = [p for _, p in found]
    if component.p_detection > 0:
        probabilities.append(component.p_detection)
    return combine_detection(probabilities), [d for d, _ in found], location


def _zone_detection(site: Site, zone: str, library: ComponentLibrary) -> tuple[float, list[str]]:
    found = _device_p(site, DeviceType.MOTION, library, zone=zone)
    found += _device_p(site, DeviceType.CAMERA, library, zone=zone)
    return combine_detection(p for _, p in found), [d for d, _ in found]


def build_asd(
    site: Site,
    *,
    target: str,
    library: ComponentLibrary = DEFAULT_LIBRARY,
    include_exit: bool = False,
) -> Asd:
    """Return the ASD of ``site`` for an attack on zone ``target`` (optionally with the exit)."""
    zone_ids = {zone.id for zone in site.zones}
    if target not in zone_ids:
        raise InvalidInput(f"target {target!r}: no such zone in site {site.site.id!r}")
    edges: list[PathEdge] = []
    steps: dict[str, AsdStep] = {}
    phases = ("in", "out") if include_exit else ("in",)

    def add(edge: PathEdge, step: AsdStep) -> None:
        edges.append(edge)
        steps[edge.id] = step

    for phase in phases:
        for zone in site.zones:
            if phase == "out" and zone.id == target:
                continue
            p, sensors = _zone_detection(site, zone.id, library)
            edge_id = f"traverse:{zone.id}:{phase}"
            element = Element(
                f"cross {zone.id}" + (" (exit)" if phase == "out" else ""),
                p,
                "M",
                zone.traversal_s,
                0.3 * zone.traversal_s,
            )
            add(
                PathEdge(edge_id, _node(zone.id, phase), _node(zone.id, phase, True), element),
                AsdStep(
                    edge_id,
                    "zone",
                    zone.id,
                    "traverse",
                    zone.id,
                    zone.id,
                    phase,
                    tuple(sensors),
                    "G",
                ),
            )
        items: list[Door | Barrier] = [*site.doors, *site.barriers]
        for item in items:
            if isinstance(item, Door):
                default_key = f"door:{item.kind.value}"
                kind = "door"
            else:
                default_key = f"barrier:{item.kind.value}"
                kind = item.kind.value
            construction = library.resolve(item.construction, default_key)
            # Entry goes from the outer side inward and the exit outward (Garcia's ASD); with
            # consistent from/to sides this makes the graph a DAG and the search fast.
            a, b = (
                (item.from_zone, item.to_zone) if phase == "in" else (item.to_zone, item.from_zone)
            )
            components = library.methods(construction)
            if phase == "out" and isinstance(item, Door):
                components = [
                    Component(
                        construction=construction,
                        defeat_method="open_inside",
                        tool_class="none",
                        delay_mean_s=_EXIT_DELAY_S,
                        source="exit through a door from the inside [G]",
                        source_label="G",
                        detection_location="E",
                    )
                ]
            for component in components:
                p, sensors, location = _crossing_detection(site, item, component, b, a, library)
                edge_id = f"{item.id}:{component.defeat_method}:{a}>{b}:{phase}"
                element = Element(
                    f"{item.id} {component.defeat_method.replace('_', ' ')}"
                    + (" (exit)" if phase == "out" else ""),
                    p,
                    location,
                    component.delay_mean_s,
                    component.sd,
                )
                add(
                    PathEdge(edge_id, _node(a, phase, True), _node(b, phase), element),
                    AsdStep(
                        edge_id,
                        kind,
                        item.id,
                        component.defeat_method,
                        a,
                        b,
                        phase,
                        tuple(sensors),
                        component.source_label,
                    ),
                )
    if include_exit:
        # Crossing the target leads into the exit phase, standing in the target zone.
        p, sensors = _zone_detection(site, target, library)
        zone = site.zone(target)
        edge_id = f"traverse:{target}:in"
        edges[:] = [e for e in edges if e.id != edge_id]
        element = Element(f"cross {target}", p, "M", zone.traversal_s, 0.3 * zone.traversal_s)
        add(
            PathEdge(edge_id, _node(target, "in"), _node(target, "out", True), element),
            AsdStep(edge_id, "zone", target, "traverse", target, target, "in", tuple(sensors), "G"),
        )
        goal = _node(OUTSIDE, "out")
    else:
        goal = _node(target, "in", True)
    return Asd(tuple(edges), steps, OUTSIDE, goal, target)


def site_mvp(
    site: Site,
    *,
    target: str,
    options: EasiOptions,
    mode: Mode = "stochastic",
    include_exit: bool = False,
    library: ComponentLibrary = DEFAULT_LIBRARY,
) -> SitePath:
    """Return the most vulnerable path from outside to zone ``target`` (and out, for theft)."""
    asd = build_asd(site, target=target, library=library, include_exit=include_exit)
    try:
        result = graph_mvp(asd.edges, options, target=asd.goal, start=asd.start, mode=mode)
    except InvalidInput as exc:
        if "no path" in exc.message:
            raise InvalidInput(
                f"target {target!r}: no door or barrier path from outside reaches it"
            ) from None
        raise
    return SitePath(target, result, tuple(asd.steps[e] for e in result.edge_ids))


def steps_table(path: SitePath) -> Sequence[tuple[str, str, str]]:
    """Return (item, method, zones) rows for display."""
    return [(s.item_id, s.defeat_method, f"{s.from_zone} → {s.to_zone}") for s in path.steps]

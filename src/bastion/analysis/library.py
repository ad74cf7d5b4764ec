"""Keep the component library: delay and detection data with provenance and confidence.

Values are seeded from §6 of the PPS reference note. Labels: ``V`` verified from a public
source, ``M`` from memory of the literature (verify), ``G`` an engineering placeholder.
Tested values (a device's ``p_detection``, or test counts) replace them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from scipy.stats import beta

from bastion.analysis.easi import Location
from bastion.core.errors import InvalidInput, NotFound

__all__ = [
    "DEFAULT_LIBRARY",
    "Component",
    "ComponentLibrary",
    "SensorSpec",
    "combine_detection",
    "pd_from_tests",
]


def pd_from_tests(successes: int, trials: int, confidence: float = 0.95) -> float:
    """Return the one-sided Clopper–Pearson lower bound on P(D) from test results."""
    if isinstance(trials, bool) or not isinstance(trials, int) or trials <= 0:
        raise InvalidInput(f"pd_trials: {trials!r} must be a positive whole number")
    if (
        isinstance(successes, bool)
        or not isinstance(successes, int)
        or not 0 <= successes <= trials
    ):
        raise InvalidInput(f"pd_successes: {successes!r} must be between 0 and {trials}")
    if not 0.0 < confidence < 1.0:
        raise InvalidInput(f"confidence: {confidence!r} must be strictly between 0 and 1")
    if successes == 0:
        return 0.0
    return float(beta.ppf(1.0 - confidence, successes, trials - successes + 1))


def combine_detection(probabilities: Iterable[float]) -> float:
    """Return 1 − Π(1 − p): the P(D) of complementary, independent sensors."""
    missed = 1.0
    for p in probabilities:
        if not 0.0 <= p <= 1.0 or math.isnan(p):
            raise InvalidInput(f"p_detection: {p!r} is outside [0, 1]")
        missed *= 1.0 - p
    return 1.0 - missed


@dataclass(frozen=True, slots=True)
class Component:
    """Delay (and detection, for unsensed elements) of one construction under one defeat method."""

    construction: str
    defeat_method: str
    tool_class: str
    delay_mean_s: float
    source: str
    source_label: str
    delay_sd_s: float | None = None
    pd: float = 0.0
    pd_trials: int | None = None
    pd_successes: int | None = None
    detection_location: Location = "M"
    confidence: str = "low"

    def __post_init__(self) -> None:
        where = f"component {self.construction}/{self.defeat_method}"
        if self.source_label not in ("V", "M", "G"):
            raise InvalidInput(f"{where}: source_label must be V, M or G")
        if self.delay_mean_s < 0 or (self.delay_sd_s is not None and self.delay_sd_s < 0):
            raise InvalidInput(f"{where}: delay is negative")
        if not 0.0 <= self.pd <= 1.0:
            raise InvalidInput(f"{where}: pd {self.pd!r} is outside [0, 1]")
        if (self.pd_trials is None) != (self.pd_successes is None):
            raise InvalidInput(f"{where}: give both pd_trials and pd_successes")

    @property
    def sd(self) -> float:
        """Return the delay standard deviation (default 0.3 × mean, Garcia's convention)."""
        return self.delay_sd_s if self.delay_sd_s is not None else 0.3 * self.delay_mean_s

    @property
    def p_detection(self) -> float:
        """Return P(D): the conservative test bound when test counts exist, else ``pd``."""
        if self.pd_trials is not None and self.pd_successes is not None:
            return pd_from_tests(self.pd_successes, self.pd_trials)
        return self.pd


@dataclass(frozen=True, slots=True)
class SensorSpec:
    """Default P(D) of one sensor type against one kind of intrusion."""

    sensor: str
    pd: float
    detection_location: Location
    source: str
    source_label: str


_REF = "PPS reference note §6"
_MIL = "MIL-HDBK-1013/1A (via PPS note §6.1)"
_GSA = "FS AA-D-600D, GSA Class 5-V (via PPS note §6.1)"


def _c(
    construction: str,
    method: str,
    tool: str,
    delay: float,
    label: str,
    source: str = _REF,
    *,
    pd: float = 0.0,
    location: Location = "M",
    confidence: str = "low",
) -> Component:
    return Component(
        construction=construction,
        defeat_method=method,
        tool_class=tool,
        delay_mean_s=delay,
        source=source,
        source_label=label,
        pd=pd,
        detection_location=location,
        confidence=confidence,
    )


_COMPONENTS: tuple[Component, ...] = (
    # Fences: verified 3–8 s (trained) to < 1 min; starter values are [G] inside that range.
    _c("chain_link_fence", "climb", "none", 10, "G", _MIL),
    _c("chain_link_fence", "cut", "hand", 15, "G", _MIL),
    _c("anti_climb_fence", "climb", "none", 25, "G", _MIL),
    _c("anti_climb_fence", "cut", "hand", 30, "G", _MIL),
    _c("chain_link_gate", "climb", "none", 10, "G", _MIL),
    _c("chain_link_gate", "force", "hand", 20, "G", _MIL, location="E"),
    _c("vehicle_slide_gate", "force", "hand", 30, "G", _MIL, location="E"),
    _c("vehicle_slide_gate", "climb", "none", 12, "G", _MIL),
    # Doors.
    _c("hollow_metal_door", "force", "hand", 60, "G", location="E"),
    _c("hollow_metal_door", "force_power", "power", 30, "G", location="E"),
    _c("hollow_metal_door", "cut_panel", "power", 90, "G"),
    _c("insulated_metal_door", "force", "hand", 45, "G", location="E"),
    _c("insulated_metal_door", "cut_panel", "power", 60, "G"),
    _c("solid_core_wood_door", "force", "hand", 30, "G", location="E"),
    _c("solid_core_wood_door", "cut_panel", "hand", 45, "G"),
    _c("storefront_glass_door", "break_glass", "hand", 15, "G", location="B"),
    _c("storefront_glass_door", "force", "hand", 20, "G", location="E"),
    _c("steel_roll_up_door", "force", "hand", 60, "G", _MIL, location="E"),
    _c("steel_roll_up_door", "cut_panel", "power", 90, "G"),
    _c(
        "class5_vault_door",
        "force",
        "power",
        600,
        "V",
        _GSA,
        location="E",
        confidence="medium",
    ),
    # Walls, windows, roofs.
    _c("storefront_glass", "break", "hand", 15, "G", location="B"),
    _c("cmu_wall", "breach", "hand", 240, "G"),
    _c("cmu_wall", "breach_power", "power", 120, "G"),
    _c("grouted_cmu_wall", "breach", "power", 300, "G"),
    _c("reinforced_concrete_wall", "breach", "power", 900, "G"),
    _c("reinforced_concrete_slab", "penetrate", "power", 900, "G"),
    _c("insulated_metal_panel", "cut", "power", 60, "G"),
    _c("stud_wall", "breach", "hand", 30, "V", "two-layer gypsum, cisworldservices (PPS §6.1)"),
    _c("metal_deck_roof", "penetrate", "power", 180, "G"),
)

_SENSORS: tuple[SensorSpec, ...] = (
    SensorSpec("contact", 0.95, "E", "BMS door open (PPS §6.1/§6.2)", "G"),
    SensorSpec("motion", 0.90, "M", "interior PIR / dual-tech walking (PPS §6.2)", "G"),
    SensorSpec("glass_break", 0.80, "B", "acoustic glass-break (PPS §6.2)", "G"),
    SensorSpec("fence_sensor", 0.80, "M", "fence disturbance climb/cut (PPS §6.2)", "G"),
    SensorSpec("camera", 0.70, "M", "CCTV with video motion detection (PPS §6.2)", "G"),
)

# Defaults when a door or barrier has no (or an unknown) construction key.
DEFAULT_CONSTRUCTION: dict[str, str] = {
    "door:personnel": "hollow_metal_door",
    "door:gate": "chain_link_gate",
    "door:vehicle": "vehicle_slide_gate",
    "door:roll_up": "steel_roll_up_door",
    "door:vault": "class5_vault_door",
    "door:glass": "storefront_glass_door",
    "barrier:fence": "chain_link_fence",
    "barrier:wall": "cmu_wall",
    "barrier:window": "storefront_glass",
    "barrier:roof": "metal_deck_roof",
    "barrier:loading_dock": "steel_roll_up_door",
    "barrier:floor": "reinforced_concrete_slab",
    "barrier:vent": "insulated_metal_panel",
}


class ComponentLibrary:
    """Look up components by construction key and sensors by type."""

    def __init__(
        self,
        components: Iterable[Component] = _COMPONENTS,
        sensors: Iterable[SensorSpec] = _SENSORS,
        defaults: Mapping[str, str] | None = None,
    ) -> None:
        self._components: dict[str, dict[str, Component]] = {}
        for component in components:
            self._components.setdefault(component.construction, {})[component.defeat_method] = (
                component
            )
        self._sensors = {sensor.sensor: sensor for sensor in sensors}
        self.defaults = dict(DEFAULT_CONSTRUCTION if defaults is None else defaults)

    def constructions(self) -> list[str]:
        """Return the known construction keys."""
        return sorted(self._components)

    def methods(self, construction: str) -> list[Component]:
        """Return the defeat methods of a construction, or raise NotFound."""
        try:
            return list(self._components[construction].values())
        except KeyError:
            raise NotFound(
                f"construction {construction!r} is not in the component library"
            ) from None

    def get(self, construction: str, defeat_method: str) -> Component:
        """Return one component, or raise NotFound."""
        for component in self.methods(construction):
            if component.defeat_method == defeat_method:
                return component
        raise NotFound(f"construction {construction!r} has no defeat method {defeat_method!r}")

    def resolve(self, construction: str, default_key: str) -> str:
        """Return ``construction`` when known, else the default for the element kind."""
        if construction in self._components:
            return construction
        return self.defaults[default_key]

    def sensor(self, sensor: str) -> SensorSpec:
        """Return the default spec of a sensor type, or raise NotFound."""
        try:
            return self._sensors[sensor]
        except KeyError:
            raise NotFound(f"sensor type {sensor!r} is not in the component library") from None

    def with_component(self, component: Component) -> ComponentLibrary:
        """Return a copy with one component added or replaced."""
        items = [c for group in self._components.values() for c in group.values()]
        items = [
            c
            for c in items
            if (c.construction, c.defeat_method)
            != (component.construction, component.defeat_method)
        ]
        return ComponentLibrary([*items, component], self._sensors.values(), self.defaults)


DEFAULT_LIBRARY = ComponentLibrary()
"""The seed library from the PPS reference note (§6)."""

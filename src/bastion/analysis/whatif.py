"""Apply candidate upgrades to a site and measure the change in P(I) of the most vulnerable path.

The MVP is recomputed after every change because it moves: hardening one path makes
another the weakest (balanced protection).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bastion.analysis.asd import SitePath, site_mvp
from bastion.analysis.easi import EasiOptions, Response
from bastion.analysis.library import DEFAULT_LIBRARY, ComponentLibrary
from bastion.analysis.paths import Mode
from bastion.core.errors import InvalidInput
from bastion.site.schemas import Device, Site

__all__ = [
    "AddSensor",
    "Change",
    "ChangeResponse",
    "SetSensorPd",
    "Upgrade",
    "UpgradeConstruction",
    "WhatIf",
    "apply_change",
    "evaluate_upgrade",
    "greedy_plan",
    "rank_upgrades",
]


@dataclass(frozen=True, slots=True)
class AddSensor:
    """Add a field device (contact, motion, glass-break, camera …)."""

    device: Device


@dataclass(frozen=True, slots=True)
class SetSensorPd:
    """Set an existing device's tested P(D)."""

    device_id: str
    p_detection: float


@dataclass(frozen=True, slots=True)
class UpgradeConstruction:
    """Replace a door's or barrier's construction key (more delay)."""

    item_id: str
    construction: str


@dataclass(frozen=True, slots=True)
class ChangeResponse:
    """Change response-force time or communication reliability (None keeps the value)."""

    mean: float | None = None
    sd: float | None = None
    p_communication: float | None = None


Change = AddSensor | SetSensorPd | UpgradeConstruction | ChangeResponse


@dataclass(frozen=True, slots=True)
class Upgrade:
    """A named candidate change with an optional cost."""

    name: str
    change: Change
    cost: float | None = None

    def __post_init__(self) -> None:
        if self.cost is not None and not self.cost > 0:
            raise InvalidInput(f"upgrade {self.name!r} cost: {self.cost!r} must be positive")


@dataclass(frozen=True, slots=True)
class WhatIf:
    """P(I) of the MVP before and after one upgrade."""

    upgrade: Upgrade
    before: SitePath
    after: SitePath

    @property
    def delta(self) -> float:
        """Return ΔP(I) of the most vulnerable path (positive is better)."""
        return self.after.p_interruption - self.before.p_interruption

    @property
    def gain_per_cost(self) -> float | None:
        """Return ΔP(I) per unit cost, when a cost is given."""
        return None if self.upgrade.cost is None else self.delta / self.upgrade.cost


def apply_change(site: Site, options: EasiOptions, change: Change) -> tuple[Site, EasiOptions]:
    """Return the site and options with ``change`` applied (the inputs are unchanged)."""
    if isinstance(change, AddSensor):
        if any(d.id == change.device.id for d in site.devices):
            raise InvalidInput(f"device {change.device.id!r}: already exists")
        return site.model_copy(update={"devices": (*site.devices, change.device)}), options
    if isinstance(change, SetSensorPd):
        if not 0.0 <= change.p_detection <= 1.0:
            raise InvalidInput(
                f"device {change.device_id!r} p_detection: {change.p_detection!r} is outside [0, 1]"
            )
        if not any(d.id == change.device_id for d in site.devices):
            raise InvalidInput(f"device {change.device_id!r}: no such device")
        devices = tuple(
            d.model_copy(update={"p_detection": change.p_detection})
            if d.id == change.device_id
            else d
            for d in site.devices
        )
        return site.model_copy(update={"devices": devices}), options
    if isinstance(change, UpgradeConstruction):
        found = False
        doors = []
        for door in site.doors:
            if door.id == change.item_id:
                found = True
                door = door.model_copy(update={"construction": change.construction})
            doors.append(door)
        barriers = []
        for barrier in site.barriers:
            if barrier.id == change.item_id:
                found = True
                barrier = barrier.model_copy(update={"construction": change.construction})
            barriers.append(barrier)
        if not found:
            raise InvalidInput(f"item {change.item_id!r}: no door or barrier has this id")
        return site.model_copy(update={"doors": tuple(doors), "barriers": tuple(barriers)}), options
    response = Response(
        options.response.mean if change.mean is None else change.mean,
        options.response.sd if change.sd is None else change.sd,
    )
    new = EasiOptions(
        response,
        options.p_communication if change.p_communication is None else change.p_communication,
        options.variance,
        options.pc_placement,
    )
    return site, new


def evaluate_upgrade(
    site: Site,
    *,
    target: str,
    options: EasiOptions,
    upgrade: Upgrade,
    mode: Mode = "stochastic",
    include_exit: bool = False,
    library: ComponentLibrary = DEFAULT_LIBRARY,
    before: SitePath | None = None,
) -> WhatIf:
    """Return the MVP before and after applying one upgrade."""
    if before is None:
        before = site_mvp(
            site,
            target=target,
            options=options,
            mode=mode,
            include_exit=include_exit,
            library=library,
        )
    new_site, new_options = apply_change(site, options, upgrade.change)
    after = site_mvp(
        new_site,
        target=target,
        options=new_options,
        mode=mode,
        include_exit=include_exit,
        library=library,
    )
    return WhatIf(upgrade, before, after)


def _key(result: WhatIf) -> tuple[float, float]:
    per_cost = result.gain_per_cost
    return (-(per_cost if per_cost is not None else result.delta), -result.delta)


def rank_upgrades(
    site: Site,
    *,
    target: str,
    options: EasiOptions,
    upgrades: Sequence[Upgrade],
    mode: Mode = "stochastic",
    include_exit: bool = False,
    library: ComponentLibrary = DEFAULT_LIBRARY,
) -> list[WhatIf]:
    """Return every upgrade's effect, best first (by gain per cost when all have costs)."""
    before = site_mvp(
        site,
        target=target,
        options=options,
        mode=mode,
        include_exit=include_exit,
        library=library,
    )
    results = [
        evaluate_upgrade(
            site,
            target=target,
            options=options,
            upgrade=u,
            mode=mode,
            include_exit=include_exit,
            library=library,
            before=before,
        )
        for u in upgrades
    ]
    if all(u.cost is not None for u in upgrades):
        return sorted(results, key=_key)
    return sorted(results, key=lambda r: -r.delta)


def greedy_plan(
    site: Site,
    *,
    target: str,
    options: EasiOptions,
    upgrades: Sequence[Upgrade],
    mode: Mode = "stochastic",
    include_exit: bool = False,
    budget: float | None = None,
    library: ComponentLibrary = DEFAULT_LIBRARY,
) -> list[WhatIf]:
    """Apply the best remaining upgrade, recompute the MVP, repeat while P(I) improves."""
    plan: list[WhatIf] = []
    remaining = list(upgrades)
    spent = 0.0
    while remaining:
        affordable = [u for u in remaining if budget is None or spent + (u.cost or 0.0) <= budget]
        if not affordable:
            break
        ranked = rank_upgrades(
            site,
            target=target,
            options=options,
            upgrades=affordable,
            mode=mode,
            include_exit=include_exit,
            library=library,
        )
        best = ranked[0]
        if best.delta <= 0:
            break
        plan.append(best)
        site, options = apply_change(site, options, best.upgrade.change)
        spent += best.upgrade.cost or 0.0
        remaining.remove(best.upgrade)
    return plan

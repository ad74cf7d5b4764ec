"""Propose candidate upgrades from the most vulnerable path, so a what-if needs no input file.

The candidates follow the rules of thumb of the reference (§3.4(c)): detection is worth
most before the critical detection point, delay after it, and a faster or more reliable
response moves the critical point later. Each is an ordinary :class:`Upgrade`, ranked
by :func:`bastion.analysis.whatif.rank_upgrades` like any user-supplied one.
"""

from __future__ import annotations

from bastion.analysis.asd import SitePath
from bastion.analysis.easi import EasiOptions
from bastion.analysis.library import DEFAULT_LIBRARY, ComponentLibrary
from bastion.analysis.whatif import AddSensor, ChangeResponse, Upgrade, UpgradeConstruction
from bastion.site.schemas import Device, DeviceType, Site

__all__ = ["STRONGER", "suggest_upgrades"]

STRONGER: dict[str, str] = {
    "chain_link_fence": "anti_climb_fence",
    "stud_wall": "grouted_cmu_wall",
    "cmu_wall": "grouted_cmu_wall",
    "grouted_cmu_wall": "reinforced_concrete_wall",
    "metal_deck_roof": "reinforced_concrete_slab",
    "insulated_metal_panel": "grouted_cmu_wall",
    "hollow_metal_door": "class5_vault_door",
    "insulated_metal_door": "class5_vault_door",
    "solid_core_wood_door": "class5_vault_door",
}
"""The next stronger construction of the seed library for a delay upgrade."""


def _free_id(site: Site, base: str) -> str:
    taken = {d.id for d in site.devices}
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def suggest_upgrades(
    site: Site,
    path: SitePath,
    options: EasiOptions,
    *,
    library: ComponentLibrary = DEFAULT_LIBRARY,
) -> list[Upgrade]:
    """Return candidate upgrades aimed at the elements of ``path``."""
    out: list[Upgrade] = []
    seen: set[str] = set()
    response = options.response
    out.append(
        Upgrade(
            f"shorten response time by 25 % ({response.mean:g} → {0.75 * response.mean:g} s)",
            ChangeResponse(mean=0.75 * response.mean, sd=0.75 * response.sd),
        )
    )
    if options.p_communication < 0.99:
        out.append(
            Upgrade(
                f"raise communication reliability P(C) to 0.99 (from {options.p_communication:g})",
                ChangeResponse(p_communication=0.99),
            )
        )
    doors = {d.id: d for d in site.doors}
    barriers = {b.id: b for b in site.barriers}
    for step, element in zip(path.steps, path.path.elements, strict=True):
        if step.kind == "zone" and element.p_detection < 0.9 and step.item_id not in seen:
            seen.add(step.item_id)
            device = Device(
                id=_free_id(site, f"whatif-motion-{step.item_id}"),
                type=DeviceType.MOTION,
                zone=step.item_id,
                name=f"Added motion sensor in {step.item_id}",
            )
            out.append(Upgrade(f"add a motion sensor in {step.item_id}", AddSensor(device)))
            continue
        item_id = step.item_id
        if item_id in seen:
            continue
        door = doors.get(item_id)
        opened = step.defeat_method in ("force", "force_power", "pick_lock")
        if (
            door is not None
            and opened
            and not any(d.door == item_id and d.type is DeviceType.CONTACT for d in site.devices)
        ):
            seen.add(item_id)
            device = Device(
                id=_free_id(site, f"whatif-contact-{item_id}"),
                type=DeviceType.CONTACT,
                door=item_id,
                name=f"Added door contact on {item_id}",
            )
            out.append(Upgrade(f"add a door contact on {item_id}", AddSensor(device)))
            continue
        item = door if door is not None else barriers.get(item_id)
        if item is None:
            continue
        kind = f"door:{item.kind.value}" if door is not None else f"barrier:{item.kind.value}"
        current = library.resolve(item.construction, kind)
        stronger = STRONGER.get(current)
        if stronger is not None and stronger in library.constructions():
            seen.add(item_id)
            out.append(
                Upgrade(
                    f"upgrade {item_id} from {current} to {stronger}",
                    UpgradeConstruction(item_id, stronger),
                )
            )
    return out

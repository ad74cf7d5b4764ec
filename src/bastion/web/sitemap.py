"""Draw a site as SVG: zones shaded by layer, doors coloured by state, devices, camera cones.

Coordinates are the site plan's metres (the SVG viewBox), so the map scales to any
screen. Every door is a focusable button carrying its id, zone and state.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from html import escape

from bastion.site.schemas import OUTSIDE, Device, DeviceType, Door, Layer, Site, Zone

LAYER_FILL = {
    Layer.PERIMETER: "#1d3327",
    Layer.BUILDING: "#1f3147",
    Layer.INTERIOR: "#2a3b52",
    Layer.RESTRICTED: "#4a3a1c",
    Layer.VAULT: "#5b1e26",
}
STATE_LABEL = {
    "locked": "locked",
    "unlocked": "unlocked",
    "open": "open",
    "held": "held open",
    "forced": "FORCED",
    "lockdown": "lockdown",
    "override": "lockdown override",
    "offline": "offline",
}
DEVICE_GLYPH = {
    DeviceType.MOTION: "M",
    DeviceType.GLASS_BREAK: "G",
    DeviceType.PANIC: "P",
    DeviceType.ENVIRONMENTAL: "E",
    DeviceType.FENCE_SENSOR: "F",
}


def _bounds(site: Site) -> tuple[float, float]:
    width = height = 10.0
    for zone in site.zones:
        if zone.area is not None:
            width = max(width, zone.area.x + zone.area.width)
            height = max(height, zone.area.y + zone.area.height)
    return width, height


def _label_size(name: str, width: float) -> float:
    """Shrink a zone label so it fits its rectangle (0.55 em per character, roughly)."""
    return max(0.45, min(1.05, (width - 1.0) / (0.55 * max(len(name), 1))))


def _zone(zone: Zone) -> str:
    if zone.area is None:
        return ""
    a = zone.area
    layer = zone.layer.name.lower()
    return (
        f'<g class="zone layer-{layer}" data-zone="{escape(zone.id)}">'
        f'<rect x="{a.x}" y="{a.y}" width="{a.width}" height="{a.height}" '
        f'fill="{LAYER_FILL[zone.layer]}"><title>{escape(zone.name)} ({layer})</title></rect>'
        f'<text class="zone-label" x="{a.x + 0.5}" y="{a.y + 1.4}" '
        f'font-size="{_label_size(zone.name, a.width):.2f}">{escape(zone.name)}</text>'
        "</g>"
    )


def _cone(device: Device) -> str:
    fov = device.fov
    if fov is None:
        return ""
    cx, cy = fov.position.x, fov.position.y
    reach = min(fov.range_m, 25.0)
    if fov.angle_deg >= 359:
        wedge = f'<circle cx="{cx}" cy="{cy}" r="{reach}" class="fov"/>'
    else:
        start = math.radians(fov.direction_deg - fov.angle_deg / 2)
        end = math.radians(fov.direction_deg + fov.angle_deg / 2)
        x1, y1 = cx + reach * math.cos(start), cy + reach * math.sin(start)
        x2, y2 = cx + reach * math.cos(end), cy + reach * math.sin(end)
        large = 1 if fov.angle_deg > 180 else 0
        wedge = (
            f'<path class="fov" d="M{cx:.2f},{cy:.2f} L{x1:.2f},{y1:.2f} '
            f'A{reach:.2f},{reach:.2f} 0 {large} 1 {x2:.2f},{y2:.2f} Z"/>'
        )
    return (
        f'<g class="camera" data-device="{escape(device.id)}">{wedge}'
        f'<rect x="{cx - 0.5}" y="{cy - 0.5}" width="1" height="1" class="camera-body">'
        f"<title>{escape(device.name or device.id)} (camera)</title></rect></g>"
    )


def _door(door: Door, state: str, note: str = "") -> str:
    if door.position is None:
        return ""
    x, y = door.position.x, door.position.y
    label = f"{door.name}: {STATE_LABEL.get(state, state)}" + (f" ({note})" if note else "")
    zone = door.to_zone if door.to_zone != OUTSIDE else door.from_zone
    return (
        f'<g class="door state-{escape(state)}" role="button" tabindex="0" '
        f'data-door="{escape(door.id)}" data-zone="{escape(zone)}" data-state="{escape(state)}" '
        f'data-name="{escape(door.name)}" data-note="{escape(note)}" aria-label="{escape(label)}">'
        f'<circle cx="{x}" cy="{y}" r="0.9"/>'
        f"<title>{escape(label)}</title></g>"
    )


def _zone_devices(site: Site) -> str:
    parts: list[str] = []
    per_zone: dict[str, list[Device]] = {}
    for device in site.devices:
        if device.type in DEVICE_GLYPH and device.zone:
            per_zone.setdefault(device.zone, []).append(device)
    for zone in site.zones:
        if zone.area is None:
            continue
        for index, device in enumerate(per_zone.get(zone.id, [])):
            x = zone.area.x + 0.6 + index * 1.3
            y = zone.area.y + zone.area.height - 1.1
            if x > zone.area.x + zone.area.width - 1:
                break
            parts.append(
                f'<g class="device device-{device.type.value}" data-device="{escape(device.id)}">'
                f'<rect x="{x:.2f}" y="{y:.2f}" width="1.1" height="0.9" rx="0.2"/>'
                f'<text x="{x + 0.55:.2f}" y="{y + 0.72:.2f}">{DEVICE_GLYPH[device.type]}</text>'
                f"<title>{escape(device.name or device.id)} ({device.type.value})</title></g>"
            )
    return "".join(parts)


def render_site_svg(
    site: Site,
    states: Mapping[str, str],
    *,
    can_control: bool = False,
    can_lockdown: bool = False,
    notes: Mapping[str, str] | None = None,
) -> str:
    """Return the SVG markup of ``site`` with each door coloured by ``states``.

    ``notes`` adds a door's reason to its label, e.g. which lockdown holds it.
    """
    width, height = _bounds(site)
    body = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="site-map" id="site-map" '
        f'viewBox="-1 -1 {width + 2} {height + 2}" role="img" '
        f'aria-label="Map of {escape(site.site.name)}" data-site="{escape(site.site.id)}" '
        f'data-can-control="{str(can_control).lower()}" '
        f'data-can-lockdown="{str(can_lockdown).lower()}">'
    ]
    body += [_zone(z) for z in sorted(site.zones, key=lambda z: (z.layer, z.id))]
    body.append(
        f'<clipPath id="plan-clip"><rect x="0" y="0" width="{width}" height="{height}"/></clipPath>'
        '<g clip-path="url(#plan-clip)">'
    )
    body += [_cone(d) for d in site.devices if d.type is DeviceType.CAMERA]
    body.append("</g>")
    body.append(_zone_devices(site))
    notes = notes or {}
    body += [_door(d, states.get(d.id, "locked"), notes.get(d.id, "")) for d in site.doors]
    body.append("</svg>")
    return "".join(body)

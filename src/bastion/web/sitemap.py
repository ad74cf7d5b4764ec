"""Draw a site as SVG: zones shaded by layer, doors coloured by state, devices, camera cones.

Coordinates are the site plan's metres (the SVG viewBox), so the map scales to any
screen. Every door is a focusable button carrying its id, zone and state.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape

from bastion.site.schemas import OUTSIDE, Device, DeviceType, Door, Layer, Site, Zone
from bastion.video.feeds import CameraFeed

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
DOOR_R = 0.9
CAMERA_HALF = 0.6
LABEL_EM = 0.6
"""Width of one character of a zone name, in em (system-ui averages less)."""
DEVICE_GLYPH = {
    DeviceType.MOTION: "M",
    DeviceType.GLASS_BREAK: "G",
    DeviceType.PANIC: "P",
    DeviceType.ENVIRONMENTAL: "E",
    DeviceType.FENCE_SENSOR: "F",
}


SENSOR_NAMES = {
    DeviceType.MOTION: "motion sensor",
    DeviceType.GLASS_BREAK: "glass-break sensor",
    DeviceType.PANIC: "panic button",
    DeviceType.ENVIRONMENTAL: "environmental sensor (air, heat, water)",
    DeviceType.FENCE_SENSOR: "fence sensor",
}
SENSOR_LEGEND = tuple((glyph, SENSOR_NAMES[kind]) for kind, glyph in DEVICE_GLYPH.items())
"""Badge letter and what it stands for, in the order the legend lists them."""


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
        "</g>"
    )


Box = tuple[float, float, float, float]
"""x0, y0, x1, y1 in plan metres."""


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _device_spots(site: Site) -> list[tuple[Device, float, float]]:
    """Return each zone sensor badge with its top-left corner (a row along the zone's foot)."""
    spots: list[tuple[Device, float, float]] = []
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
            spots.append((device, x, y))
    return spots


def icon_boxes(site: Site) -> list[Box]:
    """Return the boxes of every icon drawn on the map: doors, camera bodies, sensor badges."""
    boxes: list[Box] = []
    for door in site.doors:
        if door.position is not None:
            x, y = door.position.x, door.position.y
            boxes.append((x - DOOR_R, y - DOOR_R, x + DOOR_R, y + DOOR_R))
    for device in site.devices:
        if device.type is DeviceType.CAMERA and device.fov is not None:
            x, y = device.fov.position.x, device.fov.position.y
            boxes.append((x - CAMERA_HALF, y - CAMERA_HALF, x + CAMERA_HALF, y + CAMERA_HALF))
    boxes += [(x, y, x + 1.1, y + 0.9) for _, x, y in _device_spots(site)]
    return boxes


@dataclass(frozen=True)
class Label:
    """A zone name placed where no icon covers it: baseline position, size and its box."""

    zone: Zone
    x: float
    y: float
    size: float

    @property
    def box(self) -> Box:
        """The space the text takes (a generous 0.6 em per character, descenders included)."""
        width = LABEL_EM * self.size * len(self.zone.name)
        return (self.x - 0.1, self.y - 0.85 * self.size, self.x + width, self.y + 0.25 * self.size)


def place_labels(site: Site) -> list[Label]:
    """Put each zone's name inside its zone where it overlaps no icon and no other name.

    Candidates run from the top-left corner along the top edge, then row by row down the
    zone, right-aligned as well as left-aligned; a name that fits nowhere shrinks once and
    tries again, and is otherwise drawn at the top-left (still above the icons, haloed).
    """
    taken = icon_boxes(site)
    labels: list[Label] = []
    zones = sorted((z for z in site.zones if z.area is not None), key=lambda z: (z.layer, z.id))
    for zone in zones:
        label = _place(zone, taken)
        labels.append(label)
        taken.append(label.box)
    return labels


def _place(zone: Zone, taken: list[Box]) -> Label:
    a = zone.area
    assert a is not None
    first = _label_size(zone.name, a.width)
    for size in (first, first * 0.8):
        width = LABEL_EM * size * len(zone.name)
        row = a.y + 0.3 + 0.85 * size
        while row + 0.25 * size <= a.y + a.height - 0.1:
            for x in (a.x + 0.4, a.x + a.width - 0.3 - width, a.x + (a.width - width) / 2):
                label = Label(zone, round(x, 2), round(row, 2), size)
                inside = label.box[0] >= a.x and label.box[2] <= a.x + a.width
                if inside and not any(_overlaps(label.box, box) for box in taken):
                    return label
            row += 0.5
    return Label(zone, a.x + 0.4, a.y + 0.3 + 0.85 * first, first)


def _label(label: Label) -> str:
    return (
        f'<text class="zone-label" data-zone="{escape(label.zone.id)}" x="{label.x}" '
        f'y="{label.y}" font-size="{label.size:.2f}">{escape(label.zone.name)}</text>'
    )


def _cone(device: Device, feed: CameraFeed | None) -> str:
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
    name = escape(device.name or device.id)
    attrs = ""
    if feed is not None and feed.shown:
        attrs = (
            f' role="button" tabindex="0" data-picture="{escape(feed.shown)}"'
            f' data-live="{escape(feed.live_url or "")}" data-name="{name}"'
            f' aria-label="Show the picture of {name}"'
        )
    return (
        f'<g class="camera{" has-picture" if attrs else ""}" data-device="{escape(device.id)}"'
        f"{attrs}>{wedge}"
        f'<rect x="{cx - CAMERA_HALF}" y="{cy - CAMERA_HALF}" width="{2 * CAMERA_HALF}" '
        f'height="{2 * CAMERA_HALF}" class="camera-body">'
        f"<title>{name} (camera{', select to see its picture' if attrs else ''})</title></rect></g>"
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
        f'<circle cx="{x}" cy="{y}" r="{DOOR_R}"/>'
        f"<title>{escape(label)}</title></g>"
    )


def _zone_devices(site: Site) -> str:
    parts: list[str] = []
    for device, x, y in _device_spots(site):
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
    feeds: Mapping[str, CameraFeed] | None = None,
) -> str:
    """Return the SVG markup of ``site`` with each door coloured by ``states``.

    ``notes`` adds a door's reason to its label, e.g. which lockdown holds it; a camera
    with a feed becomes a button that opens its picture. Zone names are drawn last, so no
    icon ever covers them.
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
    feeds = feeds or {}
    body += [_cone(d, feeds.get(d.id)) for d in site.devices if d.type is DeviceType.CAMERA]
    body.append("</g>")
    body.append(_zone_devices(site))
    notes = notes or {}
    body += [_door(d, states.get(d.id, "locked"), notes.get(d.id, "")) for d in site.doors]
    body.append('<g class="labels">')
    body += [_label(label) for label in place_labels(site)]
    body.append("</g></svg>")
    return "".join(body)

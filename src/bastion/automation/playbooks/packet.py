"""The law-enforcement packet: a PDF to hand to the police before anything happens.

Site plan drawn from the site model's zones, doors and cameras; key holders, alarm
company, police and fire contacts, hazards, muster points and shut-offs from the
emergency plan; the camera and door lists. Missing plan data is printed as missing,
so the gap is visible on paper too.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Circle, Drawing, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from bastion.automation.playbooks.plan import EmergencyPlan, Place
from bastion.core.sitetime import site_time, zone_name
from bastion.site.schemas import DeviceType, Layer, Site

LAYER_FILL = {
    Layer.PERIMETER: colors.HexColor("#e8f0e0"),
    Layer.BUILDING: colors.HexColor("#dde8f4"),
    Layer.INTERIOR: colors.HexColor("#f4efdd"),
    Layer.RESTRICTED: colors.HexColor("#f4e0d0"),
    Layer.VAULT: colors.HexColor("#f0c8c8"),
}


def _p(text: str, style: Any) -> Paragraph:
    return Paragraph(escape(text), style)


def site_plan(site: Site, *, width: float = 180 * mm, height: float = 130 * mm) -> Drawing:
    """Draw the zones (by layer), doors and cameras of the site's plan, north up."""
    drawing = Drawing(width, height)
    areas = [z.area for z in site.zones if z.area is not None]
    if not areas:
        drawing.add(String(10, height / 2, "The site model has no plan geometry.", fontSize=10))
        return drawing
    max_x = max(a.x + a.width for a in areas)
    max_y = max(a.y + a.height for a in areas)
    scale = min((width - 10) / max_x, (height - 10) / max_y)

    def pt(x: float, y: float) -> tuple[float, float]:
        return 5 + x * scale, height - 5 - y * scale

    for zone in sorted(site.zones, key=lambda z: z.layer):
        if zone.area is None:
            continue
        a = zone.area
        x0, y1 = pt(a.x, a.y + a.height)
        drawing.add(
            Rect(
                x0,
                y1,
                a.width * scale,
                a.height * scale,
                fillColor=LAYER_FILL.get(zone.layer, colors.white),
                strokeColor=colors.black,
                strokeWidth=0.6,
            )
        )
        lx, ly = pt(a.x + 0.5, a.y + 1.6)
        drawing.add(String(lx, ly, zone.name[:28], fontSize=6.5, fillColor=colors.black))
    for door in site.doors:
        if door.position is None:
            continue
        x, y = pt(door.position.x, door.position.y)
        colour = colors.HexColor("#1a7f37") if door.emergency_egress else colors.HexColor("#9a3412")
        drawing.add(Rect(x - 2.5, y - 2.5, 5, 5, fillColor=colour, strokeColor=colors.black))
        drawing.add(String(x + 3, y + 3, door.id, fontSize=5, fillColor=colour))
    for device in site.devices:
        if device.type is DeviceType.CAMERA and device.fov is not None:
            x, y = pt(device.fov.position.x, device.fov.position.y)
            drawing.add(Circle(x, y, 2, fillColor=colors.HexColor("#1d4ed8"), strokeWidth=0.3))
    return drawing


def _table(rows: Sequence[Sequence[str]], widths: Sequence[float], style: Any) -> Table:
    body = [[_p(cell, style) for cell in row] for row in rows]
    table = Table(body, colWidths=list(widths), repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e5e7eb")),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _places(title: str, places: Sequence[Place], site: Site, styles: Any) -> list[Any]:
    names = {z.id: z.name for z in site.zones}
    story: list[Any] = [_p(title, styles["Heading2"])]
    if not places:
        story.append(_p("None listed in the emergency plan.", styles["Italic"]))
        return story
    rows = [["What", "Where", "Details"]] + [
        [p.name, names.get(p.zone or "", p.zone or "—"), p.description or ""] for p in places
    ]
    story.append(_table(rows, (55 * mm, 45 * mm, 80 * mm), styles["BodyText"]))
    return story


def render_packet(
    site: Site, plan: EmergencyPlan | None, *, generated_at: datetime, compress: bool = True
) -> bytes:
    """Return the packet as PDF bytes."""
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"Law-enforcement packet: {site.site.name}",
        author="Bastion",
        pageCompression=1 if compress else 0,
        invariant=1,
    )
    styles = getSampleStyleSheet()
    body = styles["BodyText"]
    info = site.site
    story: list[Any] = [
        _p("Law-enforcement packet", styles["Title"]),
        _p(info.name, styles["Heading2"]),
        _p(
            f"{info.address or 'Address not recorded'} · licence {info.license_number or '—'}", body
        ),
        _p(
            f"Prepared {site_time(generated_at, site.site.timezone)} "
            f"({zone_name(site.site.timezone)} time) by Bastion. Confidential.",
            body,
        ),
        Spacer(1, 4 * mm),
        _p("Emergency contacts", styles["Heading2"]),
    ]
    if plan is None:
        story.append(
            _p(
                "No emergency plan on file: add emergency/<site>.yaml to the data directory "
                "(alarm company, key holders, hazards).",
                styles["Italic"],
            )
        )
    else:
        rows = [["Who", "Phone", "Details"]]
        for label, agency in (
            ("Police", plan.police),
            ("Fire department", plan.fire_department),
            ("Alarm company", plan.alarm_company),
        ):
            if agency is None:
                rows.append([label, "—", "not in the emergency plan"])
                continue
            extra = " · ".join(
                x
                for x in (
                    agency.label,
                    f"non-emergency {agency.non_emergency}" if agency.non_emergency else "",
                    f"account {agency.account}" if agency.account else "",
                    agency.notes,
                )
                if x
            )
            rows.append([label, agency.phone, extra])
        story.append(_table(rows, (40 * mm, 40 * mm, 100 * mm), body))
        story.append(_p("Key holders", styles["Heading2"]))
        if plan.key_holders:
            rows = [["Name", "Role", "Phone", "Email"]] + [
                [k.name, k.role, k.phone, k.email] for k in plan.key_holders
            ]
            story.append(_table(rows, (55 * mm, 30 * mm, 40 * mm, 55 * mm), body))
        else:
            story.append(_p("No key holder listed in the emergency plan.", styles["Italic"]))
    story += [
        PageBreak(),
        _p("Site plan", styles["Heading2"]),
        _p(
            "Zones shaded by protection layer (darker is deeper); squares are doors "
            "(green: emergency egress), blue dots are cameras. North is up.",
            body,
        ),
        site_plan(site),
        Spacer(1, 4 * mm),
        _p("Doors", styles["Heading2"]),
        _table(
            [["Door", "Name", "From -> to", "Kind", "Egress"]]
            + [
                [
                    d.id,
                    d.name,
                    f"{d.from_zone} -> {d.to_zone}",
                    d.kind.value,
                    "yes" if d.emergency_egress else "",
                ]
                for d in site.doors
            ],
            (30 * mm, 50 * mm, 50 * mm, 25 * mm, 25 * mm),
            body,
        ),
        PageBreak(),
        _p("Cameras", styles["Heading2"]),
        _table(
            [["Camera", "Name", "Covers", "PTZ presets"]]
            + [
                [c.id, c.name, ", ".join(c.covers) or (c.zone or ""), ", ".join(c.ptz_presets)]
                for c in site.devices
                if c.type is DeviceType.CAMERA
            ],
            (35 * mm, 60 * mm, 45 * mm, 40 * mm),
            body,
        ),
    ]
    if plan is not None:
        story += _places("Hazards", plan.hazards, site, styles)
        story += _places("Muster points", plan.muster_points, site, styles)
        story += _places("Utility shut-offs", plan.utilities, site, styles)
        if plan.notes:
            story += [_p("Notes", styles["Heading2"]), _p(plan.notes, body)]
    else:
        story.append(_p("Hazards: not recorded (no emergency plan on file).", styles["Italic"]))
    doc.build(story)
    return buffer.getvalue()

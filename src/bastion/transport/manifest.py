"""The printable transport manifest (PDF) that travels with the product.

It carries what state rules ask a manifest to show (e.g. WAC 314-55-085: product type
and amount, the transporter, the vehicle, departure time and expected delivery; the
originating and receiving licences), the crew by name, every line with its seal, the
frozen manifest digest from departure, and blank receiving columns for signatures.
Times are in the site's zone.
"""

from __future__ import annotations

import io
from datetime import datetime
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy.orm import Session

from bastion.core.sitetime import site_time
from bastion.site.schemas import Site
from bastion.transport import service
from bastion.transport.models import Trip, Vehicle


def _when(moment: datetime | None, zone: ZoneInfo) -> str:
    return site_time(moment, zone)


def render(session: Session, site: Site, trip: Trip) -> bytes:
    """Return the manifest of a trip as a PDF."""
    zone = ZoneInfo(site.site.timezone)
    styles = getSampleStyleSheet()
    vehicle = session.get(Vehicle, trip.vehicle_id)
    crew = service.names(session, service.crew_people(session, trip))
    lines = service.lines_of(session, trip.id)
    facts = [
        ["Manifest", trip.id],
        [
            "From",
            f"{site.site.name}, {site.site.address or '—'} (licence {trip.origin_licence or '—'})",
        ],
        [
            "To",
            f"{trip.destination}, {trip.destination_address or '—'} (licence {trip.destination_licence or '—'})",
        ],
        ["Transporter", site.site.name],
        [
            "Vehicle",
            f"{vehicle.name}, plate {vehicle.plate}, {vehicle.description or 'no description'}"
            if vehicle
            else "—",
        ],
        ["Crew", ", ".join(crew.values()) or "—"],
        ["Departure", _when(trip.departed_at or trip.depart_at, zone)],
        ["Expected delivery", _when(trip.arrive_by, zone)],
        ["Status", trip.status],
        ["Frozen manifest digest", trip.manifest_digest or "not departed yet"],
    ]
    body = [["Kind", "Item", "Reference", "Quantity", "Seal", "Received", "Seal received"]]
    body += [
        [
            x.kind.replace("_", " "),
            Paragraph(escape(x.description), styles["BodyText"]),
            x.ref or "—",
            f"{x.quantity:g} {x.unit}",
            x.seal or "—",
            "" if x.received_quantity is None else f"{x.received_quantity:g}",
            x.received_seal or "",
        ]
        for x in lines
    ]
    grid = TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("FONTSIZE", (0, 0), (-1, -1), 8),
        ]
    )
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, title=f"Transport manifest {trip.id}")
    story = [
        Paragraph("Transport manifest", styles["Title"]),
        Table(
            [[a, Paragraph(escape(b), styles["BodyText"])] for a, b in facts],
            colWidths=[40 * mm, 130 * mm],
            style=grid,
        ),
        Spacer(1, 6 * mm),
        Table(
            body,
            repeatRows=1,
            style=grid,
            colWidths=[18 * mm, 50 * mm, 30 * mm, 20 * mm, 20 * mm, 16 * mm, 22 * mm],
        ),
        Spacer(1, 12 * mm),
        Paragraph(
            "Released by (crew) ____________________ &nbsp;&nbsp; Received by ____________________",
            styles["BodyText"],
        ),
    ]
    doc.build(story)
    return out.getvalue()

"""A printable visitor badge: a credit-card-sized PDF with a photo box, QR of the visit id."""

from __future__ import annotations

import io
from datetime import datetime, tzinfo

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from bastion.core.sitetime import site_time

BADGE_SIZE = (86 * mm, 54 * mm)


def _fit(c: canvas.Canvas, text: str, font: str, size: float, width: float) -> str:
    """Shorten ``text`` with an ellipsis until it fits ``width`` points."""
    if c.stringWidth(text, font, size) <= width:
        return text
    while text and c.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def badge_pdf(
    *,
    visit_id: str,
    name: str,
    company: str | None,
    host: str,
    areas: list[str],
    until: datetime,
    site_name: str,
    badge_number: str | None,
    zone: tzinfo,
) -> bytes:
    """Return the badge PDF: VISITOR · ESCORT REQUIRED, name, host, areas, expiry and QR."""
    buffer = io.BytesIO()
    width, height = BADGE_SIZE
    c = canvas.Canvas(buffer, pagesize=BADGE_SIZE)
    c.setTitle(f"Visitor badge {visit_id}")
    c.setFillColorRGB(0.75, 0.1, 0.1)
    c.rect(0, height - 10 * mm, width, 10 * mm, stroke=0, fill=1)
    c.setFillColorRGB(1, 1, 1)
    c.setFont("Helvetica-Bold", 12)
    c.drawString(4 * mm, height - 7 * mm, "VISITOR · ESCORT REQUIRED")
    c.setFillColorRGB(0, 0, 0)
    # Photo placeholder.
    c.setDash(2, 2)
    c.rect(4 * mm, 14 * mm, 20 * mm, 26 * mm, stroke=1, fill=0)
    c.setDash()
    c.setFont("Helvetica", 6)
    c.drawCentredString(14 * mm, 26 * mm, "PHOTO")
    text_x = 27 * mm
    text_w = width - text_x - 24 * mm
    c.setFont("Helvetica-Bold", 10)
    c.drawString(text_x, 37 * mm, _fit(c, name, "Helvetica-Bold", 10, text_w))
    c.setFont("Helvetica", 7)
    lines = [
        company or "",
        f"Host: {host}",
        f"Areas: {', '.join(areas)}",
        f"Until: {site_time(until, zone)}",  # fits the badge with the zone
        f"Badge: {badge_number or '—'}",
    ]
    y = 32 * mm
    for line in lines:
        if line:
            c.drawString(text_x, y, _fit(c, line, "Helvetica", 7, text_w))
            y -= 4 * mm
    c.setFont("Helvetica", 6)
    c.drawString(4 * mm, 4 * mm, _fit(c, site_name, "Helvetica", 6, width - 30 * mm))
    qr = QrCodeWidget(visit_id)
    x0, y0, x1, y1 = qr.getBounds()
    size = 20 * mm
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(qr)
    renderPDF.draw(drawing, c, width - size - 3 * mm, 14 * mm)
    c.setFont("Helvetica", 5)
    c.drawCentredString(width - size / 2 - 3 * mm, 12 * mm, visit_id)
    c.showPage()
    c.save()
    return buffer.getvalue()

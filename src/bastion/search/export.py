"""Search results as CSV (for spreadsheets) and PDF (for an auditor or a police report)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime

from bastion.core.sitetime import site_time
from bastion.search.query import EventFilter, EventLine

COLUMNS = ("Time", "Event", "What", "Where", "Who", "Outcome", "Ledger seq")


def _cells(line: EventLine) -> list[str]:
    return [
        line.local_time,
        line.type,
        line.what,
        line.where,
        line.who,
        line.outcome,
        str(line.seq),
    ]


def _safe(cell: str) -> str:
    """Keep a spreadsheet from running a cell as a formula (CSV injection)."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


def to_csv(lines: Iterable[EventLine]) -> str:
    """Return the lines as CSV with a header row."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for line in lines:
        writer.writerow([_safe(cell) for cell in _cells(line)])
    return out.getvalue()


def describe_filters(filters: EventFilter, zone_name: str = "") -> str:
    """Return the filters in words, for the report's heading."""
    parts = []
    if filters.since:
        parts.append(f"from {filters.since:%Y-%m-%d %H:%M}")
    if filters.until:
        parts.append(f"until {filters.until:%Y-%m-%d %H:%M}")
    if filters.kinds:
        parts.append("kinds: " + ", ".join(filters.kinds))
    for label, value in (
        ("zone", filters.zone),
        ("door", filters.door),
        ("person", filters.person),
        ("outcome", filters.outcome),
        ("text", filters.text),
    ):
        if value:
            parts.append(f"{label}: {value}")
    words = "; ".join(parts) or "all events"
    return f"{words} ({zone_name} time)" if zone_name else words


def to_pdf(lines: list[EventLine], *, title: str, subtitle: str, made: datetime) -> bytes:
    """Return a landscape A4 PDF table of the lines."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=7.5, leading=9)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm, title=title
    )
    rows: list[list[object]] = [list(COLUMNS)]
    rows += [[Paragraph(_escape(cell), small) for cell in _cells(line)] for line in lines]
    table = Table(
        rows,
        repeatRows=1,
        colWidths=[40 * mm, 30 * mm, 64 * mm, 55 * mm, 40 * mm, 18 * mm, 20 * mm],
    )
    table.setStyle(
        TableStyle(
            [
                ("FONTSIZE", (0, 0), (-1, 0), 8),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8ecf1")),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#b8c2cc")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story = [
        Paragraph(_escape(title), styles["Title"]),
        Paragraph(_escape(subtitle), styles["BodyText"]),
        Paragraph(
            f"{len(lines)} event(s); made {site_time(made, made.tzinfo)}", styles["BodyText"]
        ),
        Spacer(1, 4 * mm),
        table,
    ]
    doc.build(story)
    return buffer.getvalue()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

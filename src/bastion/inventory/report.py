"""The reconciliation report: variance by location and by week, adjustment reasons by user.

CSV (one section after another, each with its own header row) so an inspector can open
it in any spreadsheet, and a PDF with the same figures drawn as charts for the file an
inspector takes away; the console draws them as bars. People are named, never numbered,
and times are the site's, with the zone written out.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.auth.models import User
from bastion.inventory import units
from bastion.inventory.models import (
    InvCount,
    InvCountLine,
    InvFinding,
    InvItem,
    InvLocation,
    InvMovement,
    InvPackage,
)
from bastion.inventory.recon import CHECK_LABEL
from bastion.people.models import Person
from bastion.site.schemas import Site


@dataclass(frozen=True)
class Figures:
    """The report's numbers: variance value by location and by ISO week, reasons by actor."""

    by_location: dict[str, int]
    by_week: dict[str, int]
    reasons: dict[tuple[str, str], int]
    findings: dict[str, int]


def _people(session: Session, ids: set[str]) -> dict[str, str]:
    """Return the names of cardholders (a movement made at a badge reader names its person)."""
    if not ids:
        return {}
    return {
        p.id: p.name for p in session.execute(select(Person).where(Person.id.in_(ids))).scalars()
    }


def actor_names(session: Session, actors: set[str]) -> dict[str, str]:
    """Return a display name for each ledger actor (``user:3`` → the account's name).

    Accounts are named by their display name (else user name); the system's own actors
    (imports, the POS, the demo) get a plain description instead of their code.
    """
    ids = {int(a[5:]) for a in actors if a.startswith("user:") and a[5:].isdigit()}
    users = (
        {
            u.id: (u.display_name or u.username)
            for u in session.execute(select(User).where(User.id.in_(ids))).scalars()
        }
        if ids
        else {}
    )
    out = {}
    for a in actors:
        kind, _, rest = a.partition(":")
        if kind == "user" and rest.isdigit() and int(rest) in users:
            out[a] = users[int(rest)]
        elif kind == "integration":
            out[a] = f"{rest.upper() if len(rest) <= 4 else rest.capitalize()} integration"
        elif kind == "token":
            out[a] = "API token"
        elif kind == "demo":
            out[a] = f"Demo ({rest})" if rest else "Demo"
        else:
            out[a] = a
    return out


def figures(session: Session, *, site: Site, now: datetime, days: int = 90) -> Figures:
    """Compute the report's figures for the last ``days`` days."""
    tz = ZoneInfo(site.site.timezone)
    since = now - timedelta(days=days)
    by_location: dict[str, int] = defaultdict(int)
    by_week: dict[str, int] = defaultdict(int)
    rows = session.execute(
        select(
            InvLocation.name,
            InvCount.completed_at,
            InvCountLine.counted_qty,
            InvCountLine.system_qty,
            InvItem.unit_value_cents,
        )
        .join(InvCount, InvCount.id == InvCountLine.count_id)
        .join(InvPackage, InvPackage.id == InvCountLine.package_id)
        .join(InvItem, InvItem.id == InvPackage.item_id)
        .outerjoin(InvLocation, InvLocation.id == InvCountLine.location_id)
        .where(
            InvCount.site_id == site.site.id,
            InvCount.status == "completed",
            InvCount.completed_at >= since,
        )
    ).all()
    for place, done, counted, book, value in rows:
        cents = int(units.from_stored(int(counted or 0) - int(book)) * int(value))
        by_location[place or "Nowhere recorded"] += cents
        year, week, _ = (done or now).astimezone(tz).isocalendar()
        by_week[f"{year}-W{week:02d}"] += cents
    reasons: dict[tuple[str, str], int] = defaultdict(int)
    adjusted = session.execute(
        select(InvMovement.actor, InvMovement.person_id, InvMovement.reason).where(
            InvMovement.site_id == site.site.id,
            InvMovement.kind == "adjust",
            InvMovement.at >= since,
        )
    ).all()
    names = actor_names(session, {who for who, _, _ in adjusted})
    people = _people(session, {pid for _, pid, _ in adjusted if pid})
    for who, pid, reason in adjusted:
        name = people.get(pid or "") or names[who]
        reasons[(name, reason or "No reason given")] += 1
    findings: dict[str, int] = defaultdict(int)
    for (check,) in session.execute(
        select(InvFinding.check).where(
            InvFinding.site_id == site.site.id, InvFinding.status == "open"
        )
    ).all():
        findings[check] += 1
    return Figures(dict(by_location), dict(by_week), dict(reasons), dict(findings))


def stamp(moment: datetime, timezone: str) -> str:
    """Return a moment as the site's local date and time with the zone named."""
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({timezone})"


def _dollars(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) / 100:,.2f}"


def csv_report(session: Session, *, site: Site, now: datetime, days: int = 90) -> bytes:
    """Return the report as CSV sections."""
    f = figures(session, site=site, now=now, days=days)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([f"Inventory reconciliation — {site.site.name}", stamp(now, site.site.timezone)])
    w.writerow([f"Last {days} days"])
    w.writerow([])
    w.writerow(["Variance by location", "Value (USD)"])
    for place, cents in sorted(f.by_location.items()):
        w.writerow([place, f"{cents / 100:.2f}"])
    w.writerow([])
    w.writerow(["Variance by week", "Value (USD)"])
    for week, cents in sorted(f.by_week.items()):
        w.writerow([week, f"{cents / 100:.2f}"])
    w.writerow([])
    w.writerow(["Adjustments by user", "Reason", "Count"])
    for (who, reason), n in sorted(f.reasons.items()):
        w.writerow([who, reason, n])
    w.writerow([])
    w.writerow(["Open findings by check", "Count"])
    for check, n in sorted(f.findings.items()):
        w.writerow([CHECK_LABEL.get(check, check), n])
    return buf.getvalue().encode()


def _colour(value: float) -> str:
    return "#c0392b" if value < 0 else "#2e86c1"


def chart_png(f: Figures, *, dpi: int = 150) -> bytes:
    """Return the three charts (variance by location, by week; reasons by user) as a PNG."""
    figure = Figure(figsize=(8.0, 7.2), dpi=dpi)
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(2, 2)
    by_place, by_week = figure.add_subplot(grid[0, 0]), figure.add_subplot(grid[0, 1])
    places = sorted(f.by_location) or [""]
    values = [f.by_location.get(p, 0) / 100 for p in places]
    by_place.barh(places, values, color=[_colour(v) for v in values])
    if f.by_location:
        by_place.axvline(0, color="#555", linewidth=0.8)
    by_place.set_title("Count variance by location ($)", fontsize=9)
    by_place.tick_params(labelsize=7)
    weeks = sorted(f.by_week) or [""]
    values = [f.by_week.get(w, 0) / 100 for w in weeks]
    by_week.bar(weeks, values, color=[_colour(v) for v in values])
    if f.by_week:
        by_week.axhline(0, color="#555", linewidth=0.8)
    by_week.set_title("Count variance by week ($)", fontsize=9)
    by_week.tick_params(axis="x", labelrotation=45, labelsize=7)
    by_week.tick_params(axis="y", labelsize=7)
    reasons_ax = figure.add_subplot(grid[1, :])
    people = sorted({who for who, _ in f.reasons}) or [""]
    kinds = sorted({reason for _, reason in f.reasons})
    left = [0] * len(people)
    palette = ("#2e86c1", "#c0392b", "#27ae60", "#8e44ad", "#d35400", "#7f8c8d", "#16a085")
    for n, reason in enumerate(kinds):
        counts = [f.reasons.get((who, reason), 0) for who in people]
        reasons_ax.barh(people, counts, left=left, label=reason, color=palette[n % len(palette)])
        left = [a + b for a, b in zip(left, counts, strict=True)]
    for ax, empty, text in (
        (by_place, not f.by_location, "No completed counts in this period"),
        (by_week, not f.by_week, "No completed counts in this period"),
        (reasons_ax, not kinds, "No adjustments in this period"),
    ):
        if empty:
            ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    reasons_ax.set_title("Adjustments by user and reason", fontsize=9)
    reasons_ax.tick_params(labelsize=7)
    if kinds:
        reasons_ax.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def pdf_report(session: Session, *, site: Site, now: datetime, days: int = 90) -> bytes:
    """Return the report as a PDF: the figures as tables and as charts."""
    f = figures(session, site=site, now=now, days=days)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"Inventory reconciliation — {site.site.name}",
    )
    styles = getSampleStyleSheet()
    grid = TableStyle(
        [
            ("FONTSIZE", (0, 0), (-1, -1), 8),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef4")),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
            ("ALIGN", (-1, 1), (-1, -1), "RIGHT"),
        ]
    )
    loss = sum(v for v in f.by_location.values() if v < 0)
    story: list[Any] = [
        Paragraph(f"Inventory reconciliation — {_esc(site.site.name)}", styles["Title"]),
        Paragraph(
            f"Produced {stamp(now, site.site.timezone)}; counts and adjustments of the "
            f"last {days} days.",
            styles["Normal"],
        ),
        Spacer(1, 3 * mm),
        Paragraph(
            f"Net count variance {_dollars(sum(f.by_location.values()))} (losses "
            f"{_dollars(loss)}); {sum(f.reasons.values())} adjustments; "
            f"{sum(f.findings.values())} open findings.",
            styles["Normal"],
        ),
        Spacer(1, 3 * mm),
        Image(io.BytesIO(chart_png(f)), width=180 * mm, height=162 * mm),
        Spacer(1, 3 * mm),
    ]
    sections: list[tuple[str, list[list[Any]]]] = [
        (
            "Variance by location",
            [["Location", "Value"]] + [[k, _dollars(v)] for k, v in sorted(f.by_location.items())],
        ),
        (
            "Variance by week",
            [["Week", "Value"]] + [[k, _dollars(v)] for k, v in sorted(f.by_week.items())],
        ),
        (
            "Adjustments by user",
            [["User", "Reason", "Count"]] + [[w, r, n] for (w, r), n in sorted(f.reasons.items())],
        ),
        (
            "Open findings by check",
            [["Check", "Count"]]
            + [[CHECK_LABEL.get(k, k), n] for k, n in sorted(f.findings.items())],
        ),
    ]
    for heading, rows in sections:
        story.append(Paragraph(heading, styles["Heading3"]))
        if len(rows) == 1:
            story.append(Paragraph("Nothing in this period.", styles["Normal"]))
        else:
            story.append(Table(rows, style=grid, repeatRows=1, hAlign="LEFT"))
        story.append(Spacer(1, 3 * mm))
    doc.build(story)
    return buffer.getvalue()


def _esc(text: str) -> str:
    """Escape text for a reportlab paragraph (names may hold ``&`` or ``<``)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

"""The mock audit: an inspector-style report of a check, as PDF and as HTML.

Order follows what inspectors walk through (premises, physical security, alarm, video,
access, badges and training, inventory, transport, records, cash, incidents). Page one
is the summary: score, counts, a chart by area and the failures that matter most.
Results read like an inspection sheet: PASS, FAIL, NOT TESTABLE (data missing) and
MANUAL (an attestation is due). Camera findings carry a plan of the cameras.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle, Wedge
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    Image,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from bastion.compliance.engine import Finding, Report
from bastion.core.sitetime import site_time
from bastion.site.schemas import Site

LABEL = {"pass": "PASS", "fail": "FAIL", "unknown": "NOT TESTABLE", "manual": "MANUAL"}
AREA_TITLE = {
    "premises": "Premises and plan",
    "physical_security": "Physical security and locks",
    "alarm": "Alarm",
    "video": "Video surveillance",
    "access": "Access control and visitors",
    "badges_training": "Badges and training",
    "inventory": "Inventory and track-and-trace",
    "transport": "Transport",
    "records": "Records",
    "cash": "Cash",
    "incidents": "Incidents and notifications",
}
COLOURS = {"pass": "#2e7d32", "fail": "#c62828", "unknown": "#9e9e9e", "manual": "#f9a825"}
CAMERA_KINDS = {"camera_coverage", "camera_resolution", "camera_fps", "video_retention"}


@dataclass(frozen=True)
class ActionLine:
    """A corrective action as the report shows it."""

    rule: str
    title: str
    owner: str
    due_on: date
    status: str


@dataclass
class AuditInput:
    """What a mock audit needs: the check, the site, and the corrective actions."""

    report: Report
    site: Site
    regulator: str
    actions: list[ActionLine] = field(default_factory=list)
    clips: dict[str, str] = field(default_factory=dict)
    """Recorder links (camera id → clip of the last seconds) for the camera evidence."""


def _local(data: AuditInput) -> str:
    return site_time(data.report.at, data.site.site.timezone)


def chart_png(report: Report) -> bytes:
    """Return a stacked bar chart of results by area."""
    areas = report.by_area()
    fig = Figure(figsize=(7, 3), dpi=120)
    ax = fig.add_subplot()
    names = [AREA_TITLE[a].split(" and ")[0] for a in areas]
    bottom = [0] * len(areas)
    for status in ("pass", "fail", "unknown", "manual"):
        values = [areas[a][status] for a in areas]
        ax.bar(names, values, bottom=bottom, color=COLOURS[status], label=LABEL[status].title())
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_ylabel("Rules")
    ax.legend(fontsize=7, loc="upper right")
    ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    fig.tight_layout()
    out = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(out, format="png")
    return out.getvalue()


def plan_png(site: Site) -> bytes:
    """Return a plan of the zones and the cameras' views (evidence for camera checks)."""
    fig = Figure(figsize=(7, 4.5), dpi=110)
    ax = fig.add_subplot()
    for zone in site.zones:
        if zone.area is None:
            continue
        a = zone.area
        ax.add_patch(Rectangle((a.x, a.y), a.width, a.height, fill=False, lw=0.6, color="#555"))
        ax.text(a.x + 0.5, a.y + 1.5, zone.name[:18], fontsize=5, color="#333")
    for cam in site.devices:
        if cam.type != "camera" or cam.fov is None:
            continue
        f = cam.fov
        reach = min(f.range_m, 12)
        ax.add_patch(
            Wedge(
                (f.position.x, f.position.y),
                reach,
                f.direction_deg - f.angle_deg / 2,
                f.direction_deg + f.angle_deg / 2,
                alpha=0.15,
                color="#1565c0",
            )
        )
        ax.plot([f.position.x], [f.position.y], "o", ms=3, color="#1565c0")
        ax.text(f.position.x + 0.5, f.position.y - 0.5, cam.id, fontsize=4.5, color="#0d47a1")
    ax.set_aspect("equal")
    ax.autoscale_view()
    ax.invert_yaxis()  # plan y runs south
    ax.set_title("Camera plan (from the site model)", fontsize=8)
    ax.tick_params(labelsize=6)
    fig.tight_layout()
    out = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(out, format="png")
    return out.getvalue()


def _owner_of(data: AuditInput, finding: Finding) -> tuple[str, str]:
    for action in data.actions:
        if action.rule == finding.rule and action.status == "open":
            return action.owner, action.due_on.isoformat()
    return "unassigned", "—"


def render_pdf(data: AuditInput) -> bytes:
    """Return the mock-audit report as PDF bytes."""
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=7, leading=8.5)
    report, site = data.report, data.site
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=14 * mm,
        rightMargin=14 * mm,
        topMargin=14 * mm,
        bottomMargin=14 * mm,
        title=f"Mock audit — {site.site.name}",
    )
    counts = report.counts()
    story: list[Flowable] = [
        Paragraph(f"Mock audit — {site.site.name}", styles["Title"]),
        Paragraph(
            f"{report.state} — {data.regulator}. Licence {site.site.license_number or 'not set'} "
            f"({report.license or 'all types'}). {site.site.address}. Checked {_local(data)}.",
            styles["BodyText"],
        ),
        Spacer(1, 4 * mm),
        Paragraph(
            f"<b>Score {report.score()}%</b> of the rules that could be decided. "
            f"{counts['pass']} pass, {counts['fail']} fail, {counts['unknown']} not testable "
            f"(data missing), {counts['manual']} awaiting an attestation.",
            styles["Heading2"],
        ),
        Image(io.BytesIO(chart_png(report)), width=175 * mm, height=75 * mm),
        Paragraph("Failures", styles["Heading3"]),
    ]
    fails = sorted(
        (f for f in report.findings if f.status == "fail"),
        key=lambda f: ({"critical": 0, "major": 1, "minor": 2}[f.severity], f.rule),
    )
    rows: list[list[Any]] = [["Rule", "Severity", "Requirement", "Owner", "Due"]]
    for f in fails:
        owner, due = _owner_of(data, f)
        rows.append([f.rule, f.severity, Paragraph(f.title, small), owner, due])
    if len(rows) == 1:
        rows.append(["—", "", "No rule failed.", "", ""])
    story.append(_table(rows, [24 * mm, 18 * mm, 100 * mm, 26 * mm, 18 * mm]))
    story.append(
        Paragraph(
            "This is a self-assessment made by Bastion from the site model, its settings and "
            "its records. It is not legal advice. Rules marked [S] or [R] come from secondary "
            "or unverified sources and must be checked against the official text.",
            small,
        )
    )
    story.append(PageBreak())
    needs_plan = False
    for area, title in AREA_TITLE.items():
        items = [f for f in report.findings if f.area == area]
        if not items:
            continue
        story.append(Paragraph(title, styles["Heading2"]))
        rows = [["Rule", "Result", "Requirement and citation", "Evidence"]]
        for f in items:
            needs_plan |= f.kind in CAMERA_KINDS
            evidence = "<br/>".join(_escape(e) for e in f.evidence[:6]) or "—"
            if f.override_reason:
                evidence += f"<br/><i>Parameter changed locally: {_escape(f.override_reason)}</i>"
            rows.append(
                [
                    f.rule,
                    LABEL[f.status],
                    Paragraph(
                        f"{_escape(f.title)}<br/><i>{_escape(f.citation)} [{f.confidence}]</i>",
                        small,
                    ),
                    Paragraph(evidence, small),
                ]
            )
        story.append(_table(rows, [22 * mm, 22 * mm, 70 * mm, 68 * mm], status_col=1))
    if needs_plan:
        story.append(PageBreak())
        story.append(Paragraph("Camera evidence", styles["Heading2"]))
        story.append(Image(io.BytesIO(plan_png(site)), width=180 * mm, height=116 * mm))
        if data.clips:
            story.append(
                Paragraph("Recorder stills and clips at the time of the check", styles["Heading3"])
            )
            for camera_id, url in sorted(data.clips.items()):
                story.append(
                    Paragraph(
                        f'{camera_id}: <link href="{_escape(url)}">{_escape(url)}</link>', small
                    )
                )
        else:
            story.append(
                Paragraph(
                    "No recorder is connected: the plan above is drawn from the site model.", small
                )
            )
    if data.actions:
        story.append(Paragraph("Corrective actions", styles["Heading2"]))
        rows = [["Rule", "Action", "Owner", "Due", "Status"]]
        for a in data.actions:
            rows.append(
                [a.rule, Paragraph(_escape(a.title), small), a.owner, str(a.due_on), a.status]
            )
        story.append(_table(rows, [24 * mm, 90 * mm, 30 * mm, 20 * mm, 18 * mm]))
    doc.build(story)
    return out.getvalue()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _table(rows: list[list[Any]], widths: list[float], status_col: int | None = None) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1)
    style = [
        ("FONTSIZE", (0, 0), (-1, -1), 7),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    if status_col is not None:
        by_label = {v: k for k, v in LABEL.items()}
        for index, row in enumerate(rows[1:], start=1):
            status = by_label.get(str(row[status_col]))
            if status:
                style.append(
                    (
                        "TEXTCOLOR",
                        (status_col, index),
                        (status_col, index),
                        colors.HexColor(COLOURS[status]),
                    )
                )
    table.setStyle(TableStyle(style))
    return table


_ENV = Environment(
    loader=PackageLoader("bastion.web", "templates"), autoescape=select_autoescape(["html"])
)


def render_html(data: AuditInput) -> str:
    """Return the mock-audit report as a standalone HTML page."""
    report = data.report
    sections = [
        (title, [f for f in report.findings if f.area == area])
        for area, title in AREA_TITLE.items()
        if any(f.area == area for f in report.findings)
    ]
    return _ENV.get_template("compliance_audit.html").render(
        data=data,
        report=report,
        counts=report.counts(),
        when=_local(data),
        sections=sections,
        label=LABEL,
        chart=base64.b64encode(chart_png(report)).decode(),
        owner_of=lambda f: _owner_of(data, f),
    )

"""Draw the evaluation of one target as a PNG or a PDF report.

Two pictures carry the result: the most vulnerable path on the site plan (zones by
layer, doors, numbered elements, the critical detection point) and the adversary
timeline against the response time (cumulative delay after each element, where each
detection happens, and the latest moment a detection still lets the response arrive
in time, mean ± sd). The PDF adds the element table, sensitivities, the Monte Carlo
check, camera-coverage gaps and any what-if ranking. Figures are drawn with the Agg
canvas directly (no pyplot state), so reports can be rendered from worker threads.
"""

from __future__ import annotations

import io
import itertools
import math
from datetime import datetime
from pathlib import Path

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from bastion.analysis.geometry import place_path, plan_size
from bastion.analysis.summary import SiteAnalysis
from bastion.core.errors import InvalidInput
from bastion.core.sitetime import site_time, zone_name
from bastion.site.schemas import Layer

__all__ = ["REPORT_FORMATS", "draw_map", "draw_timeline", "render", "render_pdf", "render_png"]

REPORT_FORMATS = ("png", "pdf")

_LAYER_FILL = {
    Layer.PERIMETER: "#e3efe6",
    Layer.BUILDING: "#dde6f2",
    Layer.INTERIOR: "#c9d6ea",
    Layer.RESTRICTED: "#f1e2bf",
    Layer.VAULT: "#efc4c9",
}
_TIMELY = "#2e7d32"
_LATE = "#9e9e9e"
_PATH = "#c62828"
_RESPONSE = "#1565c0"


def _headline(analysis: SiteAnalysis) -> str:
    o = analysis.options
    mc = analysis.monte_carlo
    check = (
        f"  ·  Monte Carlo {mc.p_interruption:.3f} [{mc.low:.3f}, {mc.high:.3f}] "
        f"({mc.confidence:.0%}, n={mc.samples:,})"
        if mc is not None
        else ""
    )
    pn = " (P(N)=1 assumed)" if analysis.effectiveness.neutralization_assumed else ""
    return (
        f"{analysis.site.site.name} — target {analysis.target}\n"
        f"P(I) = {analysis.p_interruption:.3f} ({analysis.mode}){check}\n"
        f"P(E) = {analysis.effectiveness.p_effectiveness:.3f}{pn}  ·  response "
        f"{o.response.mean:g} ± {o.response.sd:g} s  ·  P(C) = {o.p_communication:g}"
    )


def draw_map(ax: Axes, analysis: SiteAnalysis) -> None:
    """Draw the site plan with the most vulnerable path on ``ax``."""
    site = analysis.site
    width, height = plan_size(site)
    uncovered = set(analysis.coverage.uncovered)
    for zone in sorted(site.zones, key=lambda z: (int(z.layer), z.id)):
        if zone.area is None:
            continue
        a = zone.area
        ax.add_patch(
            Rectangle(
                (a.x, a.y),
                a.width,
                a.height,
                facecolor=_LAYER_FILL.get(Layer(zone.layer), "#eeeeee"),
                edgecolor="#455a64",
                linewidth=1.6 if zone.id == analysis.target else 0.6,
                hatch="///" if zone.id in uncovered else None,
            )
        )
        ax.text(
            a.x + 0.4, a.y + 0.9, zone.name, fontsize=6, va="top", color="#263238", clip_on=True
        )
    for door in site.doors:
        if door.position is not None:
            ax.plot(door.position.x, door.position.y, "s", color="#37474f", markersize=3)

    placed = place_path(site, analysis.path)
    route = placed.route
    for (x0, y0), (x1, y1) in itertools.pairwise(route):
        ax.annotate(
            "",
            xy=(x1, y1),
            xytext=(x0, y0),
            arrowprops={"arrowstyle": "-|>", "color": _PATH, "lw": 2.0, "shrinkA": 0, "shrinkB": 0},
        )
    cdp = analysis.path.path.critical_detection_point
    timeline = analysis.path.path.timeline
    for point in placed.points:
        step = timeline[point.index]
        colour = _TIMELY if step.timely and step.p_detection > 0 else _LATE
        ax.plot(
            point.x,
            point.y,
            "*" if point.index == cdp else "o",
            markersize=13 if point.index == cdp else 9,
            color=colour,
            markeredgecolor="black",
            zorder=5,
        )
        ax.annotate(
            str(point.index + 1),
            (point.x, point.y),
            xytext=(4, 4),
            textcoords="offset points",
            fontsize=7,
            fontweight="bold",
            zorder=6,
        )
    ax.set_xlim(-3.5, width + 3.5)
    ax.set_ylim(height + 3.5, -3.5)
    ax.set_aspect("equal")
    ax.set_xlabel("metres east")
    ax.set_ylabel("metres south")
    handles: list[Artist] = [
        Line2D([], [], color=_PATH, lw=2, label="most vulnerable path"),
        Line2D([], [], marker="o", ls="", color=_TIMELY, mec="black", label="timely detection"),
        Line2D([], [], marker="o", ls="", color=_LATE, mec="black", label="late or no detection"),
        Line2D(
            [],
            [],
            marker="*",
            ls="",
            color="white",
            mec="black",
            ms=11,
            label="critical det. point",
        ),
    ]
    if uncovered:
        handles.append(
            Patch(facecolor="white", edgecolor="#455a64", hatch="///", label="camera gap")
        )
    ax.legend(handles=handles, loc="upper right", fontsize=6, framealpha=0.9)


def draw_timeline(ax: Axes, analysis: SiteAnalysis) -> None:
    """Draw the adversary timeline against the response time on ``ax``."""
    path = analysis.path.path
    steps = path.timeline
    total = steps[-1].end_s if steps else 0.0
    response = analysis.options.response
    latest = total - response.mean
    cdp = path.critical_detection_point
    for i, step in enumerate(steps):
        colour = _TIMELY if step.timely else _LATE
        ax.barh(
            i,
            max(step.end_s - step.start_s, total * 0.002),
            left=step.start_s,
            color=colour,
            alpha=0.55,
        )
        ax.text(step.end_s, i, f" {step.end_s:.0f} s", va="center", fontsize=6)
        if step.p_detection > 0:
            ax.plot(
                step.detection_s,
                i,
                "*" if i == cdp else "D",
                color="black",
                markersize=10 if i == cdp else 3 + 5 * step.p_detection,
                zorder=4,
            )
    ax.axvline(total, color=_PATH, lw=1.5)
    ax.text(total, -0.9, " adversary done", color=_PATH, fontsize=7, va="bottom")
    ax.axvspan(latest - response.sd, latest + response.sd, color=_RESPONSE, alpha=0.12)
    ax.axvline(latest, color=_RESPONSE, ls="--", lw=1.5)
    ax.text(
        latest,
        len(steps) - 0.4,
        f" detect before here: response {response.mean:g} ± {response.sd:g} s",
        color=_RESPONSE,
        fontsize=7,
        va="top",
    )
    ax.set_yticks(
        range(len(steps)), [f"{i + 1}. {s.name}" for i, s in enumerate(steps)], fontsize=7
    )
    ax.set_ylim(len(steps) - 0.4, -1.2)
    left = min(0.0, latest - response.sd) - total * 0.02
    ax.set_xlim(left, max(total, latest + response.sd) * 1.12 + 1)
    ax.set_xlabel("seconds from start of attack (mean delays)")
    ax.set_title("Adversary timeline against response time", fontsize=9)
    ax.grid(axis="x", alpha=0.3)


def _figure_png(analysis: SiteAnalysis) -> Figure:
    fig = Figure(figsize=(11, 13), dpi=110, layout="constrained")
    grid = fig.add_gridspec(2, 1, height_ratios=[1.25, 1])
    fig.suptitle(_headline(analysis), fontsize=10)
    draw_map(fig.add_subplot(grid[0]), analysis)
    draw_timeline(fig.add_subplot(grid[1]), analysis)
    return fig


def render_png(analysis: SiteAnalysis) -> bytes:
    """Return a PNG with the path on the site map above the adversary timeline."""
    fig = _figure_png(analysis)
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _fmt(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:+.2e}" if abs(value) < 1e-3 else f"{value:+.4f}"


def _table_page(analysis: SiteAnalysis) -> Figure:
    fig = Figure(figsize=(11.69, 8.27))
    ax = fig.add_subplot()
    ax.axis("off")
    path = analysis.path.path
    rows = []
    for i, (element, term, sens) in enumerate(
        zip(path.elements, path.easi.terms, analysis.sensitivity.elements, strict=True)
    ):
        rows.append(
            [
                str(i + 1) + (" CDP" if i == path.critical_detection_point else ""),
                element.name,
                f"{element.p_detection:.3f}",
                element.location,
                f"{element.delay_mean:.0f} ± {element.delay_sd:.0f}",
                f"{term.p_timely:.3f}",
                f"{term.contribution:.4f}",
                _fmt(sens.d_p_detection),
                _fmt(sens.d_delay_mean),
            ]
        )
    table = ax.table(
        cellText=rows,
        colLabels=[
            "#",
            "element",
            "P(D)",
            "at",
            "delay s",
            "P(R|A)",
            "term",
            "∂P(I)/∂P(D)",
            "∂P(I)/∂μ (per s)",
        ],
        loc="upper center",
        cellLoc="left",
        colWidths=[0.06, 0.27, 0.06, 0.04, 0.1, 0.07, 0.08, 0.14, 0.14],
    )
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    table.scale(1, 1.3)
    s = analysis.sensitivity
    lines = [
        "Sensitivities of P(I) on this path: "
        f"∂/∂(response mean) {_fmt(s.d_response_mean)} per s, ∂/∂(response sd) "
        f"{_fmt(s.d_response_sd)} per s, ∂/∂P(C) {_fmt(s.d_p_communication)}.",
    ]
    if analysis.monte_carlo is not None:
        mc = analysis.monte_carlo
        agrees = "agrees" if mc.contains(analysis.p_interruption) else "DISAGREES"
        lines.append(
            f"Monte Carlo check: {mc.interrupted:,} of {mc.samples:,} simulated attacks interrupted, "
            f"P(I) ≈ {mc.p_interruption:.4f}, {mc.confidence:.0%} interval [{mc.low:.4f}, {mc.high:.4f}] "
            f"({agrees} with EASI {analysis.p_interruption:.4f})."
        )
    gaps = analysis.coverage.uncovered
    lines.append("Camera-coverage gaps: " + (", ".join(gaps) if gaps else "none") + ".")
    for r in analysis.whatif[:8]:
        lines.append(
            f"What-if: {r.upgrade.name}: P(I) {r.before.p_interruption:.4f} → "
            f"{r.after.p_interruption:.4f} ({r.delta:+.4f})."
        )
    if analysis.effectiveness.neutralization_assumed:
        lines.append("P(N) = 1 was assumed: P(E) is optimistic until neutralisation is assessed.")
    lines.append(
        f"Conventions: variance {analysis.options.variance}, P(C) placement "
        f"{analysis.options.pc_placement}; component data carry [V]/[M]/[G] provenance labels."
    )
    fig.text(0.05, 0.04, "\n".join(lines), fontsize=7.5, va="bottom", wrap=True)
    fig.suptitle("Path elements, sensitivities and checks", fontsize=11)
    return fig


def render_pdf(analysis: SiteAnalysis, *, made: datetime | None = None) -> bytes:
    """Return a three-page PDF: map with path, timeline, element table with checks.

    ``made`` is printed in the site's time with the zone named, so a printed copy says
    when the evaluation was run.
    """
    buffer = io.BytesIO()
    with PdfPages(
        buffer,
        metadata={
            "Title": f"Layered-defence evaluation: {analysis.site.site.id} / {analysis.target}",
            "Creator": "Bastion",
        },
    ) as pdf:
        first = Figure(figsize=(11.69, 8.27), layout="constrained")
        headline = _headline(analysis)
        if made is not None:
            timezone = analysis.site.site.timezone
            headline += f"\nPrepared {site_time(made, timezone)} ({zone_name(timezone)} time)"
        first.suptitle(headline, fontsize=10)
        draw_map(first.add_subplot(), analysis)
        pdf.savefig(first)
        second = Figure(figsize=(11.69, 8.27), layout="constrained")
        draw_timeline(second.add_subplot(), analysis)
        pdf.savefig(second)
        pdf.savefig(_table_page(analysis))
    return buffer.getvalue()


def render(analysis: SiteAnalysis, fmt: str, *, made: datetime | None = None) -> bytes:
    """Return the report in ``fmt`` (png or pdf); a PDF names when it was ``made``."""
    if fmt == "png":
        return render_png(analysis)
    if fmt == "pdf":
        return render_pdf(analysis, made=made)
    raise InvalidInput(f"format: {fmt!r} is not one of png, pdf")


def write_report(analysis: SiteAnalysis, out: Path, *, made: datetime | None = None) -> Path:
    """Write the report to ``out``; its suffix (.png or .pdf) picks the format."""
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in REPORT_FORMATS:
        raise InvalidInput(f"--out {out}: the file name must end in .png or .pdf")
    data = render(analysis, fmt, made=made)
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise InvalidInput(f"--out {out}: cannot write ({exc.strerror})") from None
    return out

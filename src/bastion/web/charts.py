"""Small server-side SVG charts (no chart library, nothing fetched): bars, columns, stacks.

Each chart is an ``<svg role="img">`` with an ``aria-label`` summary and a ``<title>``
on every mark, so screen readers and hover both get the numbers; the pages also show
the figures as text next to the chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape


def _nice_max(value: float) -> float:
    """Return a round axis maximum at or above ``value``."""
    if value <= 0:
        return 1.0
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step:
            return float(step)
    magnitude = 10 ** (len(str(int(value))) - 1)
    return float(-(-value // magnitude) * magnitude)


def column_chart(
    points: Sequence[tuple[str, float]],
    *,
    label: str,
    unit: str = "",
    every: int = 1,
    width: float = 480,
    height: float = 150,
    css_id: str = "",
) -> str:
    """Return vertical columns, one per point, labelling every ``every``-th on the axis."""
    top = _nice_max(max((v for _, v in points), default=0))
    left, bottom, right = 30.0, 20.0, 4.0
    plot_w, plot_h = width - left - right, height - bottom - 8
    slot = plot_w / max(len(points), 1)
    total = sum(v for _, v in points)
    id_attr = f' id="{escape(css_id)}"' if css_id else ""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-columns"{id_attr} '
        f'viewBox="0 0 {width:g} {height:g}" role="img" '
        f'aria-label="{escape(label)}: {total:g}{escape(unit)} in total">',
        f'<line class="axis" x1="{left}" y1="{8 + plot_h}" x2="{width - right}" y2="{8 + plot_h}"/>',
        f'<text class="tick" x="{left - 4}" y="12" text-anchor="end">{top:g}</text>',
        f'<text class="tick" x="{left - 4}" y="{8 + plot_h}" text-anchor="end">0</text>',
    ]
    for index, (name, value) in enumerate(points):
        bar_h = plot_h * value / top
        x = left + index * slot + slot * 0.15
        y = 8 + plot_h - bar_h
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{bar_h:.1f}" data-value="{value:g}">'
            f"<title>{escape(name)}: {value:g}{escape(unit)}</title></rect>"
        )
        if index % every == 0:
            parts.append(
                f'<text class="tick" x="{x + slot * 0.35:.1f}" y="{height - 6:g}" '
                f'text-anchor="middle">{escape(name)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    points: Sequence[tuple[str, float]],
    *,
    label: str,
    unit: str = "",
    width: float = 480,
    css_id: str = "",
) -> str:
    """Return horizontal bars with their names on the left and values on the right."""
    if not points:
        return f'<p class="muted">{escape(label)}: nothing yet.</p>'
    row_h, name_w, value_w = 22.0, 150.0, 50.0
    height = row_h * len(points) + 4
    top = max(v for _, v in points) or 1
    plot_w = width - name_w - value_w
    id_attr = f' id="{escape(css_id)}"' if css_id else ""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-bars"{id_attr} '
        f'viewBox="0 0 {width:g} {height:g}" role="img" aria-label="{escape(label)}">'
    ]
    for index, (name, value) in enumerate(points):
        y = 2 + index * row_h
        bar_w = max(plot_w * value / top, 1.5)
        parts.append(
            f'<text class="name" x="{name_w - 6}" y="{y + 15}" text-anchor="end">'
            f"{escape(name[:24])}</text>"
            f'<rect class="bar" x="{name_w}" y="{y + 3}" width="{bar_w:.1f}" height="{row_h - 8}" '
            f'data-value="{value:g}"><title>{escape(name)}: {value:g}{escape(unit)}</title></rect>'
            f'<text class="value" x="{name_w + bar_w + 5:.1f}" y="{y + 15}">'
            f"{value:g}{escape(unit)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class Segment:
    """One part of a stacked bar: a value, its CSS class and its meaning."""

    value: float
    css_class: str
    meaning: str


def stacked_bars(
    rows: Sequence[tuple[str, Sequence[Segment]]],
    *,
    label: str,
    unit: str = " s",
    width: float = 480,
    css_id: str = "",
) -> str:
    """Return one horizontal bar per row, made of segments laid end to end."""
    if not rows:
        return f'<p class="muted">{escape(label)}: nothing yet.</p>'
    row_h, name_w, value_w = 22.0, 150.0, 70.0
    height = row_h * len(rows) + 4
    top = max(sum(s.value for s in segs) for _, segs in rows) or 1
    plot_w = width - name_w - value_w
    id_attr = f' id="{escape(css_id)}"' if css_id else ""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-stacked"{id_attr} '
        f'viewBox="0 0 {width:g} {height:g}" role="img" aria-label="{escape(label)}">'
    ]
    for index, (name, segments) in enumerate(rows):
        y = 2 + index * row_h
        x = name_w
        parts.append(
            f'<text class="name" x="{name_w - 6}" y="{y + 15}" text-anchor="end">'
            f"{escape(name[:24])}</text>"
        )
        for seg in segments:
            seg_w = plot_w * seg.value / top
            parts.append(
                f'<rect class="{escape(seg.css_class)}" x="{x:.1f}" y="{y + 3}" '
                f'width="{max(seg_w, 0.5):.1f}" height="{row_h - 8}" data-value="{seg.value:g}">'
                f"<title>{escape(name)} — {escape(seg.meaning)}: {seg.value:.0f}{escape(unit)}"
                "</title></rect>"
            )
            x += seg_w
        total = sum(s.value for s in segments)
        parts.append(
            f'<text class="value" x="{x + 5:.1f}" y="{y + 15}">{total:.0f}{escape(unit)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)

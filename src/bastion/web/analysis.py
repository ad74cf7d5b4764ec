"""The console's layered-defence page: P(I) of a target, its path on the map, what to upgrade.

The page runs the same :func:`bastion.analysis.summary.analyse_site` as the API and the
CLI. The what-if ranking re-searches the site once per candidate, so it is loaded by
htmx after the page; the report buttons download from the analysis API.
"""

from __future__ import annotations

from html import escape
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from bastion.analysis.easi import EasiOptions, Response
from bastion.analysis.geometry import place_path
from bastion.analysis.suggest import suggest_upgrades
from bastion.analysis.summary import SiteAnalysis, analyse_site, target_zones
from bastion.analysis.whatif import rank_upgrades
from bastion.api.deps import Principal, Require, get_hub
from bastion.api.scope import FromQuery, Missing
from bastion.auth.permissions import Permission
from bastion.core.errors import InvalidInput
from bastion.hub import Hub
from bastion.site.schemas import Site
from bastion.web.render import page
from bastion.web.sitemap import render_site_svg

router = APIRouter(include_in_schema=False)
HubDep = Annotated[Hub, Depends(get_hub)]
Reader = Annotated[
    Principal,
    Depends(Require(Permission.ANALYSIS_READ, site=FromQuery("site", missing=Missing.ANY_SITE))),
]
SiteReader = Annotated[
    Principal, Depends(Require(Permission.ANALYSIS_READ, site=FromQuery("site")))
]
MC_SAMPLES = 20_000
_TIMELY = "#66bb6a"
_LATE = "#9e9e9e"
_PATH = "#ff5252"
_RESPONSE = "#64b5f6"


def _sites(hub: Hub, principal: Principal) -> dict[str, Site]:
    """Return the loaded sites the principal may analyse."""
    allowed = principal.sites_with(Permission.ANALYSIS_READ)
    sites: dict[str, Site] = hub.extras.get("sites", {})
    return {k: v for k, v in sorted(sites.items()) if allowed is None or k in allowed}


def path_svg(analysis: SiteAnalysis) -> str:
    """Return the site map SVG with the most vulnerable path drawn over it."""
    base = render_site_svg(analysis.site, {})
    placed = place_path(analysis.site, analysis.path)
    cdp = analysis.path.path.critical_detection_point
    timeline = analysis.path.path.timeline
    parts = ['<g class="analysis-path" pointer-events="none">']
    if len(placed.route) > 1:
        points = " ".join(f"{x:.2f},{y:.2f}" for x, y in placed.route)
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{_PATH}" stroke-width="0.6" '
            'stroke-linejoin="round" stroke-dasharray="1.4 0.6"/>'
        )
    for p in placed.points:
        step = timeline[p.index]
        colour = _TIMELY if step.timely and step.p_detection > 0 else _LATE
        radius = 1.3 if p.index == cdp else 0.9
        ring = (
            ' stroke="#ffd54f" stroke-width="0.4"'
            if p.index == cdp
            else ' stroke="#000" stroke-width="0.15"'
        )
        parts.append(
            f'<g class="path-step" data-step="{p.index + 1}"><circle cx="{p.x:.2f}" cy="{p.y:.2f}" '
            f'r="{radius}" fill="{colour}"{ring}/>'
            f'<text x="{p.x:.2f}" y="{p.y + 0.45:.2f}" font-size="1.1" text-anchor="middle" '
            f'fill="#000">{p.index + 1}</text><title>{p.index + 1}. {escape(p.name)}'
            f"{' (critical detection point)' if p.index == cdp else ''}</title></g>"
        )
    parts.append("</g>")
    return base.replace("</svg>", "".join(parts) + "</svg>")


def timeline_svg(analysis: SiteAnalysis) -> str:
    """Return the adversary timeline against the response time as an inline SVG."""
    steps = analysis.path.path.timeline
    response = analysis.options.response
    total = steps[-1].end_s if steps else 0.0
    latest = total - response.mean
    lo = min(0.0, latest - response.sd)
    hi = max(total, latest + response.sd) * 1.05 + 1.0
    label_w, plot_w, row_h = 220.0, 560.0, 22.0
    height = row_h * (len(steps) + 2)

    def x(t: float) -> float:
        return label_w + (t - lo) / (hi - lo) * plot_w

    cdp = analysis.path.path.critical_detection_point
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 {label_w + plot_w + 60} {height}" '
        f'role="img" aria-label="Adversary timeline against the response time">',
        f'<rect x="{x(latest - response.sd):.1f}" y="0" width="{x(latest + response.sd) - x(latest - response.sd):.1f}" '
        f'height="{height - row_h:.1f}" fill="{_RESPONSE}" opacity="0.15"/>',
        f'<line x1="{x(latest):.1f}" x2="{x(latest):.1f}" y1="0" y2="{height - row_h:.1f}" stroke="{_RESPONSE}" stroke-dasharray="4 3"/>',
        f'<line x1="{x(total):.1f}" x2="{x(total):.1f}" y1="0" y2="{height - row_h:.1f}" stroke="{_PATH}"/>',
    ]
    for i, step in enumerate(steps):
        y = row_h * (i + 0.5)
        colour = _TIMELY if step.timely else _LATE
        out.append(
            f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end" font-size="11" fill="currentColor">'
            f"{i + 1}. {escape(step.name)}</text>"
            f'<rect x="{x(step.start_s):.1f}" y="{y + 2}" width="{max(x(step.end_s) - x(step.start_s), 1.0):.1f}" '
            f'height="{row_h - 6}" fill="{colour}" opacity="0.7"><title>{escape(step.name)}: '
            f"{step.start_s:.0f}–{step.end_s:.0f} s, P(D) {step.p_detection:.2f}</title></rect>"
        )
        if step.p_detection > 0:
            size = 7 if i == cdp else 3 + 3 * step.p_detection
            fill = "#ffd54f" if i == cdp else "currentColor"
            out.append(
                f'<circle cx="{x(step.detection_s):.1f}" cy="{y + row_h / 2 - 1:.1f}" r="{size:.1f}" fill="{fill}"/>'
            )
    axis_y = row_h * (len(steps) + 0.9)
    out.append(
        f'<text x="{x(latest):.1f}" y="{axis_y}" font-size="11" fill="{_RESPONSE}" text-anchor="middle">'
        f"detect by {latest:.0f} s (response {response.mean:g} ± {response.sd:g} s)</text>"
        f'<text x="{x(total):.1f}" y="{axis_y + 12}" font-size="11" fill="{_PATH}" text-anchor="middle">'
        f"done at {total:.0f} s</text></svg>"
    )
    return "".join(out)


def _query(**values: Any) -> str:
    return urlencode(
        {k: ("true" if v is True else "false" if v is False else v) for k, v in values.items()}
    )


@router.get("/console/analysis", response_class=HTMLResponse)
def analysis_page(
    request: Request,
    hub: HubDep,
    principal: Reader,
    site: Annotated[str | None, Query()] = None,
    target: Annotated[str | None, Query()] = None,
    response_mean: Annotated[float, Query()] = 300.0,
    response_sd: Annotated[float, Query()] = 90.0,
    pc: Annotated[float, Query()] = 0.95,
    include_exit: Annotated[bool, Query(alias="exit")] = False,
) -> HTMLResponse:
    """Show P(I) of the chosen target, its path on the map, the timeline and coverage gaps."""
    sites = _sites(hub, principal)
    ctx: dict[str, Any] = {
        "sites": sites,
        "form": {
            "site": site,
            "target": target,
            "response_mean": response_mean,
            "response_sd": response_sd,
            "pc": pc,
            "exit": include_exit,
        },
        "analysis": None,
        "error": None,
    }
    if not sites:
        return page(request, "analysis.html", principal, ctx)
    if site is None or site not in sites:
        if site is not None:
            ctx["error"] = f"site {site!r} is not loaded or not yours to analyse"
        site = next(iter(sites))
    chosen = sites[site]
    targets = target_zones(chosen)
    target = target or targets[0][0]
    ctx["form"].update(site=site, target=target)
    ctx["targets"] = targets
    if ctx["error"] is not None:
        return page(request, "analysis.html", principal, ctx, status_code=404)
    try:
        analysis = analyse_site(
            chosen,
            target=target,
            options=EasiOptions(Response(response_mean, response_sd), pc),
            include_exit=include_exit,
            samples=MC_SAMPLES,
        )
    except InvalidInput as exc:
        ctx["error"] = exc.message
        return page(request, "analysis.html", principal, ctx, status_code=422)
    query = _query(
        target=target,
        response_mean=response_mean,
        response_sd=response_sd,
        pc=pc,
        exit=include_exit,
    )
    ctx.update(
        analysis=analysis,
        map_svg=path_svg(analysis),
        timeline_svg=timeline_svg(analysis),
        rows=list(
            zip(
                analysis.path.path.timeline,
                analysis.path.path.elements,
                analysis.sensitivity.elements,
                analysis.path.steps,
                strict=True,
            )
        ),
        report_base=f"/api/analysis/sites/{site}/report?{query}",
        whatif_url=f"/console/analysis/whatif?{_query(site=site)}&{query}",
        can_run=principal.allows(Permission.ANALYSIS_RUN, site),
    )
    return page(request, "analysis.html", principal, ctx)


@router.get("/console/analysis/whatif", response_class=HTMLResponse)
def whatif_fragment(
    request: Request,
    hub: HubDep,
    principal: SiteReader,
    site: Annotated[str, Query()],
    target: Annotated[str, Query()],
    response_mean: Annotated[float, Query()] = 300.0,
    response_sd: Annotated[float, Query()] = 90.0,
    pc: Annotated[float, Query()] = 0.95,
    include_exit: Annotated[bool, Query(alias="exit")] = False,
) -> HTMLResponse:
    """Return the ranking of the suggested upgrades for the page (htmx fragment)."""
    sites = _sites(hub, principal)
    ctx: dict[str, Any] = {"ranked": [], "error": None}
    if site not in sites:
        ctx["error"] = f"site {site!r} is not loaded or not yours to analyse"
        return page(request, "analysis_whatif.html", principal, ctx, status_code=404)
    try:
        options = EasiOptions(Response(response_mean, response_sd), pc)
        base = analyse_site(sites[site], target=target, options=options, include_exit=include_exit)
        ctx["ranked"] = rank_upgrades(
            sites[site],
            target=target,
            options=options,
            upgrades=suggest_upgrades(sites[site], base.path, options),
            include_exit=include_exit,
        )
    except InvalidInput as exc:
        ctx["error"] = exc.message
        return page(request, "analysis_whatif.html", principal, ctx, status_code=422)
    return page(request, "analysis_whatif.html", principal, ctx)
